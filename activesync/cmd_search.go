package activesync

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// The namespaces of Search responses.
const (
	nsSearch = "Search"
	nsGAL    = "GAL"
)

// Search statuses, [MS-ASCMD] 2.2.3.177.13. The Search element itself only ever says 1 or
// 3; what went wrong with the query is the Store element's status.
const (
	searchSuccess        = 1
	searchInvalidRequest = 2 // one or more of the search parameters was invalid
	searchServerError    = 3
	searchTooComplex     = 8 // the query is too complex
	searchTimedOut       = 10
	searchEndOfRange     = 12 // the Range goes beyond the results a search may return
)

// gal:Picture statuses ([MS-ASCMD] 2.2.3.177.13 and 2.2.3.177.12 alike).
const (
	pictureSuccess  = 1
	pictureNone     = 173 // the contact has no photo
	pictureTooLarge = 174 // larger than MaxSize
	pictureLimit    = 175 // more photos than MaxPictures
)

// Limits of one search. [MS-ASCMD] 2.2.3.143.3: the default Range of a mailbox or GAL
// search is 0-99 and at most 100 results are returned; a query longer than a To element
// (256 characters) is no name anybody types.
const (
	searchMaxResults = 100
	searchMaxQuery   = 256
	searchMaxFolders = 100 // CollectionIds in one mailbox query
	searchTimeout    = 30 * time.Second
)

// searchRange is a Range ([MS-ASCMD] 2.2.3.143.3): the zero-based indexes of the first
// and last result wanted, inclusive.
type searchRange struct{ first, last int }

// defaultSearchRange is what a request without Range gets.
var defaultSearchRange = searchRange{0, searchMaxResults - 1}

// parseSearchRange reads "m-n" (digits only, m <= n); each command applies its own
// limits.
func parseSearchRange(s string) (searchRange, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return searchRange{}, false
	}
	first, ok1 := parseSmallUint(a)
	last, ok2 := parseSmallUint(b)
	if !ok1 || !ok2 || first > last {
		return searchRange{}, false
	}
	return searchRange{first, last}, true
}

// parseSmallUint reads a decimal number of at most 9 digits.
func parseSmallUint(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// window cuts a result list to the range: the slice bounds into a list of total results.
func (r searchRange) window(total int) (lo, hi int) {
	lo = min(r.first, total)
	hi = min(r.last+1, total)
	return lo, hi
}

// rangeText is the response's Range: the indexes of the results actually returned.
func rangeText(first, n int) string {
	return strconv.Itoa(first) + "-" + strconv.Itoa(first+n-1)
}

// pictureOptions are a Picture element of a request's Options (14.1+, [MS-ASCMD]
// 2.2.3.135): the largest photo to send (0: any size) and the most photos (0: no limit).
type pictureOptions struct {
	maxSize     int
	maxPictures int
}

func parsePictureOptions(n *wbxml.Node) *pictureOptions {
	if n == nil {
		return nil
	}
	p := &pictureOptions{}
	if v, ok := parseSmallUint(strings.TrimSpace(n.ChildText("MaxSize"))); ok {
		p.maxSize = v
	}
	if v, ok := parseSmallUint(strings.TrimSpace(n.ChildText("MaxPictures"))); ok {
		p.maxPictures = v
	}
	return p
}

// pictureBudget hands out photos to the results of one response in order, so that
// MaxPictures counts photos actually sent.
type pictureBudget struct {
	opts *pictureOptions
	sent int
}

// picture is the Picture element (in space: GAL for Search and Find, ResolveRecipients
// for ResolveRecipients) for a photo, or nil when none was asked.
func (b *pictureBudget) picture(space string, photo []byte) *wbxml.Node {
	if b == nil || b.opts == nil {
		return nil
	}
	status := pictureSuccess
	switch {
	case len(photo) == 0:
		status = pictureNone
	case b.opts.maxSize > 0 && len(photo) > b.opts.maxSize:
		status = pictureTooLarge
	case b.opts.maxPictures > 0 && b.sent >= b.opts.maxPictures:
		status = pictureLimit
	}
	n := wbxml.NewElem(space, "Picture", statusNode(space, status))
	if status == pictureSuccess {
		b.sent++
		// [MS-ASCMD] 2.2.3.39 (Data): the photo's bytes, as WBXML opaque data (libwbxml, an
		// independent decoder, likewise treats gal:Data and ResolveRecipients:Data as
		// binary).
		n.Add(wbxml.NewOpaque(space, "Data", photo))
	}
	return n
}

// searchRequest is a Search request ([MS-ASCMD] 2.2.1.16) once read.
type searchRequest struct {
	store string // "GAL" or "Mailbox"
	// text is the GAL query, or the mailbox query's FreeText.
	text string
	// The rest is the mailbox query ([MS-ASCMD] 2.2.3.142.2).
	classes        []string
	collections    []string
	conversationID []byte
	since, before  time.Time // GreaterThan / LessThan on email:DateReceived
	rng            searchRange
	hasRange       bool
	deepTraversal  bool
	rebuildResults bool
	bodyOpts       bodyOptions
	picture        *pictureOptions
}

// parseSearchRequest reads a Search request. Its status is searchSuccess, or the Store
// status that refuses the request. It never panics on any tree (FuzzSearchRequest).
func parseSearchRequest(root *wbxml.Node) (searchRequest, int) {
	sr := searchRequest{rng: defaultSearchRange}
	if root == nil || !root.Is(nsSearch+":Search") {
		return sr, searchInvalidRequest
	}
	stores := root.All(nsSearch + ":Store")
	if len(stores) != 1 { // [MS-ASCMD] 2.2.3.178.3: exactly one Store
		return sr, searchInvalidRequest
	}
	st := stores[0]
	sr.store = strings.TrimSpace(st.ChildText(nsSearch + ":Name"))
	query := st.Child(nsSearch + ":Query")
	if query == nil {
		return sr, searchInvalidRequest
	}
	if opts := st.Child(nsSearch + ":Options"); opts != nil {
		for _, c := range opts.Children {
			switch c.Name() {
			case nsSearch + ":Range":
				r, ok := parseSearchRange(c.Text)
				if !ok {
					return sr, searchInvalidRequest
				}
				// [MS-ASCMD] 2.2.3.143.3: a Range beyond the default (0-99) is
				// answered with Status 12, the end of the retrievable range.
				if r.last >= searchMaxResults {
					return sr, searchEndOfRange
				}
				sr.rng, sr.hasRange = r, true
			case nsSearch + ":DeepTraversal":
				sr.deepTraversal = true
			case nsSearch + ":RebuildResults":
				sr.rebuildResults = true
			case nsSearch + ":Picture":
				sr.picture = parsePictureOptions(c)
			}
		}
		sr.bodyOpts = parseBodyOptions(opts)
	}
	switch {
	case strings.EqualFold(sr.store, "GAL"):
		sr.store = "GAL"
		// [MS-ASCMD] 2.2.3.142.2: for the GAL, Query is the text itself.
		if len(query.Children) > 0 {
			return sr, searchInvalidRequest
		}
		sr.text = strings.TrimSpace(query.Text)
		if sr.text == "" || len(sr.text) > searchMaxQuery {
			return sr, searchInvalidRequest
		}
	case strings.EqualFold(sr.store, "Mailbox"):
		sr.store = "Mailbox"
		if status := sr.parseMailboxQuery(query, 0); status != searchSuccess {
			return sr, status
		}
		if len(sr.text) > searchMaxQuery {
			return sr, searchInvalidRequest
		}
	default:
		// Document libraries (and anything else) are not served.
		return sr, searchInvalidRequest
	}
	return sr, searchSuccess
}

// parseMailboxQuery reads the conditions of a mailbox query: an And of airsync:Class,
// airsync:CollectionId, FreeText, ConversationId, GreaterThan and LessThan ([MS-ASCMD]
// 2.2.3.142.2). Or and EqualTo are not supported in a mailbox query: "too complex".
func (sr *searchRequest) parseMailboxQuery(n *wbxml.Node, depth int) int {
	if depth > 2 {
		return searchTooComplex
	}
	for _, c := range n.Children {
		switch c.Name() {
		case nsSearch + ":And":
			if s := sr.parseMailboxQuery(c, depth+1); s != searchSuccess {
				return s
			}
		case nsSearch + ":Or", nsSearch + ":EqualTo":
			return searchTooComplex
		case nsSearch + ":FreeText":
			// [MS-ASCMD] 2.2.3.80.2: FreeText outside And or Or is "too complex".
			if depth == 0 {
				return searchTooComplex
			}
			if sr.text != "" {
				sr.text += " "
			}
			sr.text += strings.TrimSpace(c.Text)
		case nsAirSync + ":Class":
			sr.classes = append(sr.classes, strings.TrimSpace(c.Text))
		case nsAirSync + ":CollectionId":
			if len(sr.collections) >= searchMaxFolders {
				return searchTooComplex
			}
			sr.collections = append(sr.collections, strings.TrimSpace(c.Text))
		case nsSearch + ":ConversationId":
			sr.conversationID = c.Opaque
			if sr.conversationID == nil {
				sr.conversationID = []byte(c.Text)
			}
		case nsSearch + ":GreaterThan", nsSearch + ":LessThan":
			t, ok := parseDateCondition(c)
			if !ok {
				return searchInvalidRequest
			}
			if c.Tag == "GreaterThan" {
				sr.since = t
			} else {
				sr.before = t
			}
		default:
			return searchInvalidRequest
		}
	}
	return searchSuccess
}

// parseDateCondition reads GreaterThan or LessThan: an empty email:DateReceived naming
// the property and a Value with the date ([MS-ASCMD] 2.2.3.86, 2.2.3.96).
func parseDateCondition(n *wbxml.Node) (time.Time, bool) {
	if !n.Has("Email:DateReceived") {
		return time.Time{}, false
	}
	return parseEASTime(n.ChildText(nsSearch + ":Value"))
}

// cmdSearch is [MS-ASCMD] 2.2.1.16: the GAL, from the in-memory address book, and the
// mailbox, from the store's full-text index.
func (h *Handler) cmdSearch(rq *request) (*response, error) {
	sr, status := parseSearchRequest(rq.body)
	if status != searchSuccess {
		rq.log.Debug("search refused", "status", status)
		return searchResponse(status, nil, nil, 0), nil
	}
	ctx, cancel := context.WithTimeout(rq.ctx, searchTimeout)
	defer cancel()
	var (
		results []*wbxml.Node
		first   int
		total   int
		err     error
	)
	switch sr.store {
	case "GAL":
		results, first, total, status = h.searchGAL(rq, sr)
	case "Mailbox":
		results, first, total, status, err = h.searchMailbox(ctx, rq, sr)
	}
	if err != nil {
		if ctx.Err() != nil && rq.ctx.Err() == nil {
			return searchResponse(searchTimedOut, nil, nil, 0), nil
		}
		return nil, err
	}
	var rng *wbxml.Node
	if len(results) > 0 {
		rng = wbxml.NewText(nsSearch, "Range", rangeText(first, len(results)))
	}
	return searchResponse(status, results, rng, total), nil
}

// searchResponse lays out a Search response in the order of SearchResponse.xsd: Status,
// then Response/Store with Status, the Results, Range and Total.
func searchResponse(storeStatus int, results []*wbxml.Node, rng *wbxml.Node, total int) *response {
	st := wbxml.NewElem(nsSearch, "Store", statusNode(nsSearch, storeStatus))
	st.Children = append(st.Children, results...)
	if storeStatus == searchSuccess {
		if rng != nil {
			st.Add(rng)
		}
		st.Add(wbxml.NewText(nsSearch, "Total", strconv.Itoa(total)))
	}
	return &response{body: wbxml.NewElem(nsSearch, "Search",
		statusNode(nsSearch, searchSuccess),
		wbxml.NewElem(nsSearch, "Response", st))}
}

// searchGAL answers a GAL search: the matching entries, sorted by name, cut to the Range.
func (h *Handler) searchGAL(rq *request, sr searchRequest) (results []*wbxml.Node, first, total, status int) {
	if h.opts.GAL == nil {
		return nil, 0, 0, searchServerError
	}
	matches := galSearch(h.opts.GAL.Snapshot(), sr.text)
	total = len(matches)
	lo, hi := sr.rng.window(total)
	var pics *pictureBudget
	if rq.version >= v141 && sr.picture != nil { // [MS-ASCMD] 2.2.3.135.3: 14.1+
		pics = &pictureBudget{opts: sr.picture}
	}
	for _, e := range matches[lo:hi] {
		props := galProperties(e, pics)
		results = append(results, wbxml.NewElem(nsSearch, "Result", renamed(props, nsSearch, "Properties")))
	}
	return results, lo, total, searchSuccess
}

// galProperties are a GAL entry's properties (the gal: elements of [MS-ASWBXML] code
// page 16), empty ones left out, and its Picture when asked. There is no home phone in
// the directory, so gal:HomePhone is never sent.
func galProperties(e *directory.GALEntry, pics *pictureBudget) *wbxml.Node {
	props := wbxml.NewElem(nsGAL, "Properties")
	add := func(tag, v string) {
		if v = cleanText(strings.TrimSpace(v)); v != "" {
			props.Add(wbxml.NewText(nsGAL, tag, v))
		}
	}
	add("DisplayName", e.CommonName())
	add("Phone", e.Phone)
	add("Office", e.Office)
	add("Title", e.Title)
	add("Company", e.Company)
	add("Alias", e.Local)
	add("FirstName", e.GivenName)
	add("LastName", e.Surname)
	add("MobilePhone", e.Mobile)
	add("EmailAddress", e.Email)
	if p := pics.picture(nsGAL, e.Photo); p != nil {
		props.Add(p)
	}
	return props
}

// renamed returns an element with n's children under another name: the same property
// list serves as Search:Properties and Find:Properties, and an email's ApplicationData
// as a result's Properties.
func renamed(n *wbxml.Node, space, tag string) *wbxml.Node {
	return &wbxml.Node{Space: space, Tag: tag, Children: n.Children}
}

// galSearch finds the address-book entries a typed name or address fragment means.
// [MS-ASCMD] 2.2.3.142.2 makes the query a case-insensitive prefix match against the
// properties Exchange indexes for ambiguous name resolution; here every word of the
// query must begin a word of the entry's display name, given name, surname or alias
// ("ali lid" finds Alice Liddell, "lid" too, as ANR matches the surname), or begin one
// of its addresses. Beyond Exchange, a query of three characters or more found anywhere
// inside an address also matches ("example.org" lists a domain). Candidates come from
// the snapshot's n-gram index; the rule is checked on each. The result is sorted by
// display name, then address, as the GAL is ordered ([MS-ASCMD] 2.2.1.2).
func galSearch(snap *directory.GALSnapshot, query string) []*directory.GALEntry {
	q := directory.Fold(query)
	terms := strings.Fields(q)
	if len(terms) == 0 || snap == nil {
		return nil
	}
	longest := slices.MaxFunc(terms, func(a, b string) int { return len(a) - len(b) })
	seen := map[int32]bool{}
	for _, attr := range []directory.GALAttr{directory.GALCommonName, directory.GALDisplayName,
		directory.GALGivenName, directory.GALSurname, directory.GALMail} {
		for _, i := range snap.Candidates(attr, "", []string{longest}, "") {
			seen[i] = true
		}
	}
	var out []*directory.GALEntry
	for i := range seen {
		if int(i) >= len(snap.Entries) {
			continue
		}
		e := &snap.Entries[i]
		if galEntryMatches(e, q, terms) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *directory.GALEntry) int {
		if c := strings.Compare(directory.Fold(a.CommonName()), directory.Fold(b.CommonName())); c != 0 {
			return c
		}
		return strings.Compare(a.Email, b.Email)
	})
	return out
}

// galEntryMatches applies galSearch's rule to one entry; q is the folded query and terms
// its words.
func galEntryMatches(e *directory.GALEntry, q string, terms []string) bool {
	return nameMatches(q, terms, galWords(e), e.Values(directory.GALMail))
}

// nameMatches is the matching rule of galSearch: the whole query q (one word of three
// characters or more) inside one of addrs, or every term the beginning of one of words.
func nameMatches(q string, terms, words, addrs []string) bool {
	if len(terms) == 1 && len(q) >= 3 {
		for _, addr := range addrs {
			if strings.Contains(strings.ToLower(addr), q) {
				return true
			}
		}
	}
	for _, t := range terms {
		found := false
		for _, w := range words {
			if strings.HasPrefix(w, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// galWords are the folded words a name search matches the beginnings of: those of the
// display name, given name and surname, the alias (local part) whole and cut at dots,
// dashes and underscores, and every address whole.
func galWords(e *directory.GALEntry) []string {
	var words []string
	for _, v := range []string{e.CommonName(), e.DisplayName, e.GivenName, e.Surname} {
		words = append(words, strings.Fields(directory.Fold(v))...)
	}
	local := strings.ToLower(e.Local)
	words = append(words, local)
	words = append(words, strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '-' || r == '_' })...)
	for _, addr := range e.Values(directory.GALMail) {
		words = append(words, strings.ToLower(addr))
	}
	return words
}

// searchMailbox answers a mailbox search from the store's full-text index.
func (h *Handler) searchMailbox(ctx context.Context, rq *request, sr searchRequest) (results []*wbxml.Node, first, total, status int, err error) {
	// Only mail is searched; a query for another class finds nothing of it.
	for _, c := range sr.classes {
		if c != "" && c != "Email" {
			return nil, 0, 0, searchSuccess, nil
		}
	}
	if sr.conversationID != nil {
		// Conversations are not indexed as a unit: the query is more than we answer.
		return nil, 0, 0, searchTooComplex, nil
	}
	folders, status, err := h.searchFolders(ctx, rq, sr.collections, sr.deepTraversal)
	if err != nil || status != searchSuccess {
		return nil, 0, 0, status, err
	}
	if len(folders) == 0 {
		return nil, 0, 0, searchSuccess, nil
	}
	items, total, err := h.mailSearch(ctx, rq, mailSearchQuery{
		text: sr.text, folders: folders, since: sr.since, before: sr.before,
		offset: sr.rng.first, limit: sr.rng.last - sr.rng.first + 1,
	})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	for _, it := range items {
		ad, err := h.emailApplicationData(ctx, rq, it, sr.bodyOpts)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, 0, 0, err
			}
			// An item deleted since the search, or one that cannot be read, is left out
			// rather than failing the whole answer.
			rq.log.Debug("search result left out", "item", it.ID, "err", err)
			total--
			continue
		}
		results = append(results, wbxml.NewElem(nsSearch, "Result",
			wbxml.NewText(nsAirSync, "Class", "Email"),
			wbxml.NewText(nsSearch, "LongId", it.ServerID()),
			wbxml.NewText(nsAirSync, "CollectionId", folderServerID(it.FolderID)),
			renamed(ad, nsSearch, "Properties")))
	}
	return results, sr.rng.first, total, searchSuccess, nil
}

// searchFolders resolves the CollectionIds of a mailbox query to the principal's mail
// folders, with their subfolders under DeepTraversal ([MS-ASCMD] 2.2.3.142.2). None
// named: every mail folder. A CollectionId that is not one of the principal's folders
// (garbage, deleted, another account's) finds nothing: Exchange answers such a search
// with no results, and saying more would tell which ids exist elsewhere.
func (h *Handler) searchFolders(ctx context.Context, rq *request, collections []string, deep bool) ([]int64, int, error) {
	all, err := h.st.Folders(ctx, rq.p)
	if err != nil {
		return nil, 0, err
	}
	mail := map[int64]store.Folder{}
	for _, f := range all {
		if !f.Deleted && f.Class == store.ClassMail {
			mail[f.ID] = f
		}
	}
	var ids []int64
	if len(collections) == 0 {
		for id := range mail {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids, searchSuccess, nil
	}
	want := map[int64]bool{}
	for _, c := range collections {
		id, ok := parseFolderID(c)
		if !ok {
			continue
		}
		if _, ok := mail[id]; ok {
			want[id] = true
		}
	}
	if deep {
		// Add descendants until nothing changes (the tree is shallow).
		for changed := true; changed; {
			changed = false
			for id, f := range mail {
				if !want[id] && want[f.ParentID] {
					want[id], changed = true, true
				}
			}
		}
	}
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, searchSuccess, nil
}

// mailSearchQuery is a mailbox query as the store's full-text index takes it.
type mailSearchQuery struct {
	text          string
	kql           bool // text is Find's Keyword Query Language ([MS-ASCMD] 2.2.3.80.1)
	folders       []int64
	since, before time.Time
	offset, limit int
}

// mailSearch runs a mailbox query: the page of matching items asked for, newest first,
// and how many match in all.
func (h *Handler) mailSearch(ctx context.Context, rq *request, q mailSearchQuery) ([]store.Item, int, error) {
	field, text := "", q.text
	if q.kql {
		field, text = kqlRestriction(text)
	}
	return h.st.SearchMail(ctx, rq.p, store.MailQuery{
		Text: text, Field: field, Folders: q.folders,
		Since: q.since, Before: q.before, Offset: q.offset, Limit: q.limit,
	})
}

// kqlRestriction reads the one property restriction of KQL ([MS-KQL] 2.1.2) that a
// phone's search box sends, "subject:word", into the store's search field; from:, to:,
// cc:, bcc: and participants: search the addresses, body: the text. Anything else is
// searched as typed, in every field.
func kqlRestriction(text string) (field, rest string) {
	name, value, ok := strings.Cut(text, ":")
	if !ok || strings.TrimSpace(value) == "" {
		return "", text
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "subject":
		field = "subject"
	case "from", "to", "cc", "bcc", "participants":
		field = "addresses"
	case "body":
		field = "body"
	default:
		return "", text
	}
	return field, strings.TrimSpace(value)
}
