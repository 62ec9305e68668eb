package calendar

import (
	"errors"
	"sort"
	"time"
)

// ErrTooComplex is returned when a recurrence needs more work than the
// expansion budget allows. The instances found until then are still returned.
var ErrTooComplex = errors.New("calendar: recurrence too complex to expand")

// DefaultMaxWork is the default budget of an expansion, in candidate dates and
// times examined. A daily series over ten years costs about 4,000.
const DefaultMaxWork = 2_000_000

// ruleIter generates the wall-clock occurrences of a Rule from a DTSTART, in
// order, following RFC 5545 3.3.10 with the same reading of the corner cases
// as Python's dateutil.rrule (whose results the tests compare with). Every
// candidate it examines costs one unit of work; it stops with ErrTooComplex
// when the budget is spent, so no rule can make it spin.
type ruleIter struct {
	r       Rule
	dtstart time.Time // wall, in time.UTC
	until   func(w time.Time) bool
	work    int
	budget  int
	err     error
	done    bool
	count   int // remaining COUNT, -1 when unbounded

	// normalised BY lists (dateutil's preprocessing)
	bymonth, byweekno, byyearday, bymonthday, bynmonthday, bysetpos []int
	byweekday                                                       [7]bool // Monday = 0
	hasByweekday                                                    bool
	bynweekday                                                      []WeekdayNum
	byhour, byminute, bysecond                                      []int
	timeset                                                         []hms
	wkst                                                            int // Monday = 0

	// position
	year, month, day, hour, minute, second, weekday int

	// year masks (dateutil's _iterinfo)
	ii        yearInfo
	lastYear  int
	lastMonth int
	nwdaymask []bool
	pending   []time.Time
	pendIdx   int
	dayset    []int
}

type hms struct{ h, m, s int }

type yearInfo struct {
	year, yearlen, nextyearlen int
	yearordinal                time.Time // 1 January
	yearweekday                int       // Monday = 0
	mmask, mdaymask, nmdaymask []int8
	wdaymask                   []int8
	mrange                     [13]int
	wnomask                    []bool
}

func monday0(w time.Weekday) int { return (int(w) + 6) % 7 }

func newRuleIter(r Rule, dtstart time.Time, budget int) *ruleIter {
	it := &ruleIter{r: r, dtstart: dtstart, budget: budget, count: -1, lastYear: -1}
	if r.Count > 0 {
		it.count = r.Count
	}
	if r.HasWKST {
		it.wkst = monday0(r.WKST)
	}
	it.bymonth = sortedUnique(r.ByMonth)
	it.byweekno = r.ByWeekNo
	it.byyearday = r.ByYearDay
	it.bysetpos = r.BySetPos
	for _, d := range r.ByMonthDay {
		if d > 0 {
			it.bymonthday = append(it.bymonthday, d)
		} else {
			it.bynmonthday = append(it.bynmonthday, d)
		}
	}
	for _, wd := range r.ByDay {
		if wd.N == 0 || r.Freq > Monthly {
			it.byweekday[monday0(wd.Day)] = true
			it.hasByweekday = true
		} else {
			it.bynweekday = append(it.bynweekday, wd)
		}
	}
	if len(r.ByWeekNo) == 0 && len(r.ByYearDay) == 0 && len(r.ByMonthDay) == 0 && len(r.ByDay) == 0 {
		switch r.Freq {
		case Yearly:
			if len(it.bymonth) == 0 {
				it.bymonth = []int{int(dtstart.Month())}
			}
			it.bymonthday = []int{dtstart.Day()}
		case Monthly:
			it.bymonthday = []int{dtstart.Day()}
		case Weekly:
			it.byweekday[monday0(dtstart.Weekday())] = true
			it.hasByweekday = true
		}
	}
	it.byhour, it.byminute, it.bysecond = sortedUnique(r.ByHour), sortedUnique(r.ByMinute), sortedUnique(r.BySecond)
	if len(it.byhour) == 0 && r.Freq < Hourly {
		it.byhour = []int{dtstart.Hour()}
	}
	if len(it.byminute) == 0 && r.Freq < Minutely {
		it.byminute = []int{dtstart.Minute()}
	}
	if len(it.bysecond) == 0 && r.Freq < Secondly {
		it.bysecond = []int{dtstart.Second()}
	}
	it.year, it.month, it.day = dtstart.Year(), int(dtstart.Month()), dtstart.Day()
	it.hour, it.minute, it.second = dtstart.Clock()
	it.weekday = monday0(dtstart.Weekday())
	if r.Freq < Hourly {
		for _, h := range it.byhour {
			for _, m := range it.byminute {
				for _, s := range it.bysecond {
					it.timeset = append(it.timeset, hms{h, m, s})
				}
			}
		}
	} else if (r.Freq >= Hourly && len(it.byhour) > 0 && !contains(it.byhour, it.hour)) ||
		(r.Freq >= Minutely && len(it.byminute) > 0 && !contains(it.byminute, it.minute)) ||
		(r.Freq >= Secondly && len(it.bysecond) > 0 && !contains(it.bysecond, it.second)) {
		it.timeset = nil
	} else {
		it.timeset = it.subdayTimeset()
	}
	it.rebuild(it.year, it.month)
	return it
}

func (it *ruleIter) subdayTimeset() []hms {
	var ts []hms
	switch it.r.Freq {
	case Hourly:
		for _, m := range it.byminute {
			for _, s := range it.bysecond {
				ts = append(ts, hms{it.hour, m, s})
			}
		}
	case Minutely:
		for _, s := range it.bysecond {
			ts = append(ts, hms{it.hour, it.minute, s})
		}
	default:
		ts = []hms{{it.hour, it.minute, it.second}}
	}
	return ts
}

// skipTo moves the iterator forward to the period containing wall time t (or
// the one before it), without generating the periods in between. Only valid
// without COUNT and for DAILY and coarser frequencies.
func (it *ruleIter) skipTo(t time.Time) {
	if it.count >= 0 || it.r.Freq > Daily || !t.After(it.dtstart) {
		return
	}
	n := it.r.interval()
	switch it.r.Freq {
	case Yearly:
		k := (t.Year() - it.year) / n
		if k > 1 {
			it.year += (k - 1) * n
			it.rebuild(it.year, it.month)
		}
	case Monthly:
		months := (t.Year()-it.year)*12 + int(t.Month()) - it.month
		k := months / n
		if k > 1 {
			m := it.month - 1 + (k-1)*n
			it.year += m / 12
			it.month = m%12 + 1
			it.rebuild(it.year, it.month)
		}
	case Weekly:
		// Start of the dtstart week, aligned to WKST.
		cur := time.Date(it.year, time.Month(it.month), it.day, 0, 0, 0, 0, time.UTC)
		ws := cur.AddDate(0, 0, -((it.weekday - it.wkst + 7) % 7))
		weeks := int((t.Unix() - ws.Unix()) / (7 * 86400))
		k := weeks / n
		if k > 1 {
			nd := ws.AddDate(0, 0, (k-1)*n*7)
			it.setDay(nd)
			it.weekday = it.wkst
		}
	case Daily:
		cur := time.Date(it.year, time.Month(it.month), it.day, 0, 0, 0, 0, time.UTC)
		days := int((t.Unix() - cur.Unix()) / 86400)
		k := days / n
		if k > 1 {
			it.setDay(cur.AddDate(0, 0, (k-1)*n))
		}
	}
}

func (it *ruleIter) setDay(d time.Time) {
	y, m, day := d.Date()
	it.year, it.month, it.day = y, int(m), day
	it.weekday = monday0(d.Weekday())
	it.rebuild(it.year, it.month)
}

var errStop = errors.New("stop")

// next returns the next occurrence as a wall time, or false at the end.
func (it *ruleIter) next() (time.Time, bool) {
	for it.pendIdx >= len(it.pending) {
		if it.done {
			return time.Time{}, false
		}
		it.pending = it.pending[:0]
		it.pendIdx = 0
		it.period()
	}
	t := it.pending[it.pendIdx]
	it.pendIdx++
	return t, true
}

func (it *ruleIter) spend(n int) bool {
	it.work += n
	if it.work > it.budget {
		it.err = ErrTooComplex
		it.done = true
		return false
	}
	return true
}

// emit records one candidate; it returns false when the series has ended.
func (it *ruleIter) emit(res time.Time) bool {
	if it.until != nil && it.until(res) {
		it.done = true
		return false
	}
	if res.Before(it.dtstart) {
		return true
	}
	if it.count >= 0 {
		it.count--
		if it.count < 0 {
			it.done = true
			return false
		}
	}
	it.pending = append(it.pending, res)
	return true
}

// period generates one period's occurrences and advances to the next period.
func (it *ruleIter) period() {
	ii := &it.ii
	var start, end int
	it.dayset = it.dayset[:0]
	switch it.r.Freq {
	case Yearly:
		start, end = 0, ii.yearlen
	case Monthly:
		start, end = ii.mrange[it.month-1], ii.mrange[it.month]
	case Weekly:
		i := dayIndex(ii, it.year, it.month, it.day)
		start = i
		for j := 0; j < 7; j++ {
			i++
			if i >= len(ii.wdaymask) || int(ii.wdaymask[i]) == it.wkst {
				break
			}
		}
		end = i
	default:
		start = dayIndex(ii, it.year, it.month, it.day)
		end = start + 1
	}
	if !it.spend(end - start + 1) {
		return
	}
	filtered := false
	for i := start; i < end; i++ {
		if it.dayFiltered(i) {
			filtered = true
			continue
		}
		it.dayset = append(it.dayset, i)
	}
	if len(it.bysetpos) > 0 && len(it.timeset) > 0 {
		var poslist []time.Time
		nt := len(it.timeset)
		for _, pos := range it.bysetpos {
			var daypos, timepos int
			if pos < 0 {
				daypos, timepos = floorDivMod(pos, nt)
			} else {
				daypos, timepos = floorDivMod(pos-1, nt)
			}
			if daypos < 0 {
				daypos += len(it.dayset)
			}
			if daypos < 0 || daypos >= len(it.dayset) {
				continue
			}
			d := ii.yearordinal.AddDate(0, 0, it.dayset[daypos])
			ts := it.timeset[timepos]
			res := time.Date(d.Year(), d.Month(), d.Day(), ts.h, ts.m, ts.s, 0, time.UTC)
			if !containsTime(poslist, res) {
				poslist = append(poslist, res)
			}
		}
		sort.Slice(poslist, func(a, b int) bool { return poslist[a].Before(poslist[b]) })
		for _, res := range poslist {
			if !it.emit(res) {
				return
			}
		}
	} else {
		if !it.spend(len(it.dayset) * len(it.timeset)) {
			return
		}
		for _, i := range it.dayset {
			d := ii.yearordinal.AddDate(0, 0, i)
			y, m, dd := d.Date()
			for _, ts := range it.timeset {
				if !it.emit(time.Date(y, m, dd, ts.h, ts.m, ts.s, 0, time.UTC)) {
					return
				}
			}
		}
	}
	it.advance(filtered)
}

func containsTime(s []time.Time, t time.Time) bool {
	for _, x := range s {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

func floorDivMod(a, b int) (int, int) {
	q, r := a/b, a%b
	if r != 0 && (r < 0) != (b < 0) {
		q--
		r += b
	}
	return q, r
}

func dayIndex(ii *yearInfo, y, m, d int) int {
	return ii.mrange[m-1] + d - 1 + 0*y
}

func (it *ruleIter) dayFiltered(i int) bool {
	ii := &it.ii
	if len(it.bymonth) > 0 && !contains(it.bymonth, int(ii.mmask[i])) {
		return true
	}
	if len(it.byweekno) > 0 && (i >= len(ii.wnomask) || !ii.wnomask[i]) {
		return true
	}
	if it.hasByweekday && !it.byweekday[ii.wdaymask[i]] {
		return true
	}
	if it.nwdaymask != nil && (i >= len(it.nwdaymask) || !it.nwdaymask[i]) {
		return true
	}
	if (len(it.bymonthday) > 0 || len(it.bynmonthday) > 0) &&
		!contains(it.bymonthday, int(ii.mdaymask[i])) && !contains(it.bynmonthday, int(ii.nmdaymask[i])) {
		return true
	}
	if len(it.byyearday) > 0 {
		if i < ii.yearlen {
			if !contains(it.byyearday, i+1) && !contains(it.byyearday, -ii.yearlen+i) {
				return true
			}
		} else if !contains(it.byyearday, i+1-ii.yearlen) && !contains(it.byyearday, -ii.nextyearlen+i-ii.yearlen) {
			return true
		}
	}
	return false
}

// advance moves to the next period (dateutil's "handle frequency and interval").
func (it *ruleIter) advance(filtered bool) {
	n := it.r.interval()
	fixday := false
	switch it.r.Freq {
	case Yearly:
		it.year += n
		if it.year > 9999 {
			it.done = true
			return
		}
		it.rebuild(it.year, it.month)
		return
	case Monthly:
		it.month += n
		if it.month > 12 {
			div, mod := it.month/12, it.month%12
			it.month = mod
			it.year += div
			if it.month == 0 {
				it.month = 12
				it.year--
			}
		}
		if it.year > 9999 {
			it.done = true
			return
		}
		it.rebuild(it.year, it.month)
		return
	case Weekly:
		if it.wkst > it.weekday {
			it.day += -(it.weekday + 1 + (6 - it.wkst)) + n*7
		} else {
			it.day += -(it.weekday - it.wkst) + n*7
		}
		it.weekday = it.wkst
		fixday = true
	case Daily:
		it.day += n
		fixday = true
	case Hourly:
		if filtered {
			it.hour += ((23 - it.hour) / n) * n
		}
		var ndays int
		var ok bool
		if len(it.byhour) > 0 {
			ndays, it.hour, ok = it.modDistance(it.hour, it.byhour, 24)
			if !ok {
				it.done = true
				return
			}
		} else {
			ndays, it.hour = floorDivMod(it.hour+n, 24)
		}
		if ndays != 0 {
			it.day += ndays
			fixday = true
		}
		it.timeset = it.subdayTimeset()
	case Minutely:
		if filtered {
			it.minute += ((1439 - (it.hour*60 + it.minute)) / n) * n
		}
		valid := false
		rep := 1440 / gcd(n, 1440)
		for j := 0; j < rep; j++ {
			if !it.spend(1) {
				return
			}
			var nhours int
			if len(it.byminute) > 0 {
				var ok bool
				nhours, it.minute, ok = it.modDistance(it.minute, it.byminute, 60)
				if !ok {
					it.done = true
					return
				}
			} else {
				nhours, it.minute = floorDivMod(it.minute+n, 60)
			}
			var div int
			div, it.hour = floorDivMod(it.hour+nhours, 24)
			if div != 0 {
				it.day += div
				fixday = true
				filtered = false
			}
			if len(it.byhour) == 0 || contains(it.byhour, it.hour) {
				valid = true
				break
			}
		}
		if !valid {
			it.done = true
			return
		}
		it.timeset = it.subdayTimeset()
	case Secondly:
		if filtered {
			it.second += ((86399 - (it.hour*3600 + it.minute*60 + it.second)) / n) * n
		}
		rep := 86400 / gcd(n, 86400)
		valid := false
		for j := 0; j < rep; j++ {
			if !it.spend(1) {
				return
			}
			var nminutes int
			if len(it.bysecond) > 0 {
				var ok bool
				nminutes, it.second, ok = it.modDistance(it.second, it.bysecond, 60)
				if !ok {
					it.done = true
					return
				}
			} else {
				nminutes, it.second = floorDivMod(it.second+n, 60)
			}
			var div int
			div, it.minute = floorDivMod(it.minute+nminutes, 60)
			if div != 0 {
				it.hour += div
				div, it.hour = floorDivMod(it.hour, 24)
				if div != 0 {
					it.day += div
					fixday = true
				}
			}
			if (len(it.byhour) == 0 || contains(it.byhour, it.hour)) &&
				(len(it.byminute) == 0 || contains(it.byminute, it.minute)) &&
				(len(it.bysecond) == 0 || contains(it.bysecond, it.second)) {
				valid = true
				break
			}
		}
		if !valid {
			it.done = true
			return
		}
		it.timeset = it.subdayTimeset()
	}
	if fixday && it.day > 28 {
		dim := daysIn(time.Month(it.month), it.year)
		if it.day > dim {
			for it.day > dim {
				it.day -= dim
				it.month++
				if it.month == 13 {
					it.month = 1
					it.year++
					if it.year > 9999 {
						it.done = true
						return
					}
				}
				dim = daysIn(time.Month(it.month), it.year)
			}
			it.rebuild(it.year, it.month)
		}
	}
}

func (it *ruleIter) modDistance(value int, by []int, base int) (int, int, bool) {
	acc := 0
	n := it.r.interval()
	for i := 1; i <= base; i++ {
		var div int
		div, value = floorDivMod(value+n, base)
		acc += div
		if contains(by, value) {
			return acc, value, true
		}
	}
	return 0, 0, false
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

var monthDays = [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// rebuild recomputes the year masks (and the nth-weekday mask) for a new year
// or month, as dateutil's _iterinfo.rebuild does.
func (it *ruleIter) rebuild(year, month int) {
	ii := &it.ii
	if year != it.lastYear {
		it.spend(380)
		ii.year = year
		ii.yearlen = 365
		if isLeap(year) {
			ii.yearlen = 366
		}
		ii.nextyearlen = 365
		if isLeap(year + 1) {
			ii.nextyearlen = 366
		}
		ii.yearordinal = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		ii.yearweekday = monday0(ii.yearordinal.Weekday())
		n := ii.yearlen + 7
		ii.mmask = resize8(ii.mmask, n)
		ii.mdaymask = resize8(ii.mdaymask, n)
		ii.nmdaymask = resize8(ii.nmdaymask, n)
		ii.wdaymask = resize8(ii.wdaymask, n)
		i := 0
		for m := 1; m <= 12; m++ {
			ii.mrange[m-1] = i
			dim := monthDays[m-1]
			if m == 2 && ii.yearlen == 366 {
				dim = 29
			}
			for d := 1; d <= dim; d++ {
				ii.mmask[i] = int8(m)
				ii.mdaymask[i] = int8(d)
				ii.nmdaymask[i] = int8(d - dim - 1)
				i++
			}
		}
		ii.mrange[12] = i
		for d := 1; d <= 7; d++ { // the first week of next January
			ii.mmask[i] = 1
			ii.mdaymask[i] = int8(d)
			ii.nmdaymask[i] = int8(d - 32)
			i++
		}
		for k := 0; k < n; k++ {
			ii.wdaymask[k] = int8((ii.yearweekday + k) % 7)
		}
		ii.wnomask = nil
		if len(it.byweekno) > 0 {
			it.buildWeekNo()
		}
	}
	if len(it.bynweekday) > 0 && (month != it.lastMonth || year != it.lastYear) {
		var ranges [][2]int
		switch it.r.Freq {
		case Yearly:
			if len(it.bymonth) > 0 {
				for _, m := range it.bymonth {
					ranges = append(ranges, [2]int{ii.mrange[m-1], ii.mrange[m]})
				}
			} else {
				ranges = [][2]int{{0, ii.yearlen}}
			}
		case Monthly:
			ranges = [][2]int{{ii.mrange[month-1], ii.mrange[month]}}
		}
		if len(ranges) > 0 {
			it.nwdaymask = make([]bool, ii.yearlen)
			for _, rg := range ranges {
				first, last := rg[0], rg[1]-1
				for _, wd := range it.bynweekday {
					wday := monday0(wd.Day)
					var i int
					if wd.N < 0 {
						i = last + (wd.N+1)*7
						if i < 0 || i >= len(ii.wdaymask) {
							continue
						}
						i -= ((int(ii.wdaymask[i])-wday)%7 + 7) % 7
					} else {
						i = first + (wd.N-1)*7
						if i < 0 || i >= len(ii.wdaymask) {
							continue
						}
						i += ((7-int(ii.wdaymask[i])+wday)%7 + 7) % 7
					}
					if first <= i && i <= last {
						it.nwdaymask[i] = true
					}
				}
			}
		}
	}
	it.lastYear, it.lastMonth = year, month
}

func resize8(s []int8, n int) []int8 {
	if cap(s) < n {
		return make([]int8, n)
	}
	return s[:n]
}

// buildWeekNo marks the days of the weeks BYWEEKNO names, weeks starting on
// WKST and week 1 being the first with at least four days in the year
// (RFC 5545 3.3.10, ISO 8601).
func (it *ruleIter) buildWeekNo() {
	ii := &it.ii
	ii.wnomask = make([]bool, ii.yearlen+7)
	wkst := it.wkst
	no1wkst := (7 - ii.yearweekday + wkst) % 7
	firstwkst := no1wkst
	var wyearlen int
	if no1wkst >= 4 {
		no1wkst = 0
		wyearlen = ii.yearlen + (ii.yearweekday-wkst+7)%7
	} else {
		wyearlen = ii.yearlen - no1wkst
	}
	numweeks := wyearlen/7 + (wyearlen%7)/4
	mark := func(i int) {
		for j := 0; j < 7; j++ {
			if i < 0 || i >= len(ii.wnomask) {
				return
			}
			ii.wnomask[i] = true
			i++
			if i >= len(ii.wdaymask) || int(ii.wdaymask[i]) == wkst {
				return
			}
		}
	}
	for _, n := range it.byweekno {
		if n < 0 {
			n += numweeks + 1
		}
		if n <= 0 || n > numweeks {
			continue
		}
		var i int
		if n > 1 {
			i = no1wkst + (n-1)*7
			if no1wkst != firstwkst {
				i -= 7 - firstwkst
			}
		} else {
			i = no1wkst
		}
		mark(i)
	}
	if contains(it.byweekno, 1) {
		i := no1wkst + numweeks*7
		if no1wkst != firstwkst {
			i -= 7 - firstwkst
		}
		if i < ii.yearlen {
			mark(i)
		}
	}
	if no1wkst != 0 {
		var lnumweeks int
		if !contains(it.byweekno, -1) {
			lyearweekday := monday0(time.Date(ii.year-1, 1, 1, 0, 0, 0, 0, time.UTC).Weekday())
			lno1wkst := (7 - lyearweekday + wkst) % 7
			lyearlen := 365
			if isLeap(ii.year - 1) {
				lyearlen = 366
			}
			if lno1wkst >= 4 {
				lnumweeks = 52 + (lyearlen+(lyearweekday-wkst+7)%7)%7/4
			} else {
				lnumweeks = 52 + (ii.yearlen-no1wkst)%7/4
			}
		} else {
			lnumweeks = -1
		}
		if contains(it.byweekno, lnumweeks) {
			for i := 0; i < no1wkst; i++ {
				ii.wnomask[i] = true
			}
		}
	}
}
