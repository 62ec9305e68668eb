package ldapserver

import (
	"slices"
	"strings"
	"unicode"

	"github.com/gatehouse/gatehouse/directory"
)

// Filter evaluation is three-valued (RFC 4511 4.5.1.7): an assertion on an attribute
// this server does not know, or with a matching rule it lacks, is Undefined, and NOT
// Undefined is Undefined.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUndef
)

func eval(f *Filter, e *entry) tri {
	switch f.Op {
	case FilterAnd:
		r := triTrue // RFC 4526: (&) is absolute true
		for _, c := range f.Children {
			switch eval(c, e) {
			case triFalse:
				return triFalse
			case triUndef:
				r = triUndef
			}
		}
		return r
	case FilterOr:
		r := triFalse // (|) is absolute false
		for _, c := range f.Children {
			switch eval(c, e) {
			case triTrue:
				return triTrue
			case triUndef:
				r = triUndef
			}
		}
		return r
	case FilterNot:
		switch eval(f.Children[0], e) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUndef
	case FilterPresent:
		name := canonAttr(f.Attr)
		if name == "" {
			return triFalse
		}
		if _, ok := e.get(name); ok {
			return triTrue
		}
		return triFalse
	case FilterExtensible:
		return triUndef
	}
	name := canonAttr(f.Attr)
	if name == "" {
		return triUndef
	}
	syn := attrSyntax[name]
	vals, _ := e.get(name)
	norm := e.getNorm(name)
	switch f.Op {
	case FilterEquality:
		a := normValue(syn, f.Value)
		for _, v := range norm {
			if v == a {
				return triTrue
			}
		}
	case FilterGreater, FilterLess:
		if syn == synOctets {
			return triUndef
		}
		a := normValue(syn, f.Value)
		for _, v := range norm {
			c := strings.Compare(v, a)
			if f.Op == FilterGreater && c >= 0 || f.Op == FilterLess && c <= 0 {
				return triTrue
			}
		}
	case FilterSubstrings:
		if syn == synOctets || syn == synBool {
			return triUndef
		}
		init, final := normValue(syn, f.Initial), normValue(syn, f.Final)
		anys := make([]string, len(f.Any))
		for i, a := range f.Any {
			anys[i] = normValue(syn, a)
		}
		for _, v := range norm {
			if substringMatch(v, init, anys, final) {
				return triTrue
			}
		}
	case FilterApprox:
		if syn == synOctets {
			return triUndef
		}
		a := words(f.Value)
		for _, v := range vals {
			if approxMatch(words(v), a) {
				return triTrue
			}
		}
	}
	return triFalse
}

func normValue(syn syntax, v string) string {
	switch syn {
	case synOctets:
		return v
	case synPhone:
		return strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' {
				return -1
			}
			return unicode.ToLower(r)
		}, v)
	case synBool:
		return strings.ToUpper(strings.TrimSpace(v))
	case synDN:
		return normDN(v)
	}
	return directory.Fold(v)
}

// substringMatch: initial at the start, final at the end, the any parts in order
// between them without overlap (RFC 4517 4.2.13 caseIgnoreSubstringsMatch).
func substringMatch(v, initial string, anys []string, final string) bool {
	if !strings.HasPrefix(v, initial) {
		return false
	}
	v = v[len(initial):]
	for _, a := range anys {
		i := strings.Index(v, a)
		if i < 0 {
			return false
		}
		v = v[i+len(a):]
	}
	return strings.HasSuffix(v, final)
}

// words splits a value into folded alphanumeric words for approximate matching.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// approxMatch: every word of the assertion is a word of the value, or a prefix of one
// (OpenLDAP without phonetic matching answers much the same).
func approxMatch(value, assertion []string) bool {
	if len(assertion) == 0 {
		return false
	}
	for _, a := range assertion {
		if !slices.ContainsFunc(value, func(w string) bool { return strings.HasPrefix(w, a) }) {
			return false
		}
	}
	return true
}

// galAttrOf maps an attribute to the GAL's index, if it is indexed.
func galAttrOf(desc string) (directory.GALAttr, bool) {
	switch canonAttr(desc) {
	case "cn":
		return directory.GALCommonName, true
	case "mail":
		return directory.GALMail, true
	case "sn":
		return directory.GALSurname, true
	case "givenName":
		return directory.GALGivenName, true
	case "displayName":
		return directory.GALDisplayName, true
	}
	return 0, false
}

// candidates returns a superset (ascending) of the people that can match f, using the
// GAL's n-gram index, or ok=false when f cannot be answered from the index.
func candidates(snap *directory.GALSnapshot, f *Filter) (out []int32, ok bool) {
	switch f.Op {
	case FilterSubstrings:
		a, ok := galAttrOf(f.Attr)
		if !ok {
			return nil, false
		}
		return snap.Candidates(a, f.Initial, f.Any, f.Final), true
	case FilterEquality:
		a, ok := galAttrOf(f.Attr)
		if !ok {
			return nil, false
		}
		return snap.Candidates(a, f.Value, nil, ""), true
	case FilterOr:
		if len(f.Children) == 0 {
			return nil, true
		}
		var sets [][]int32
		for _, c := range f.Children {
			s, ok := candidates(snap, c)
			if !ok {
				return nil, false
			}
			sets = append(sets, s)
		}
		return union(sets), true
	case FilterAnd:
		var res []int32
		found := false
		for _, c := range f.Children {
			s, ok := candidates(snap, c)
			if !ok {
				continue
			}
			if !found {
				res, found = s, true
			} else {
				res = intersect(res, s)
			}
		}
		return res, found
	}
	return nil, false
}

// union merges ascending, duplicate-free sets into one, pairwise in rounds (n log k for
// k sets holding n in all; the GAL's posting lists are already sorted, so no sort).
func union(sets [][]int32) []int32 {
	if len(sets) == 0 {
		return nil
	}
	for len(sets) > 1 {
		next := sets[:0:0]
		for i := 0; i+1 < len(sets); i += 2 {
			next = append(next, merge(sets[i], sets[i+1]))
		}
		if len(sets)%2 == 1 {
			next = append(next, sets[len(sets)-1])
		}
		sets = next
	}
	return sets[0]
}

// merge is the union of two ascending, duplicate-free sets.
func merge(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func intersect(a, b []int32) []int32 {
	out := make([]int32, 0, min(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
