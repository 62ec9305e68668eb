package activesync

import (
	"context"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// nsFind is the Find namespace (16.1).
const nsFind = "Find"

// Find statuses, [MS-ASCMD] 2.2.3.177.2. 4 ("the requested range does not begin with
// 0") is not used: a search's first request must start at 0, but nothing here
// remembers SearchIds, and a later page legitimately does not.
const (
	findSuccess            = 1
	findInvalidRequest     = 2 // one or more of the search parameters was invalid
	findFolderSyncRequired = 3 // the folder hierarchy is out of date (an unknown CollectionId)
)

// findMaxRange is the largest index of a Find Range ([MS-ASCMD] 2.2.3.143.1: 0 <= m <=
// n <= 999).
const findMaxRange = 999

// findRequest is a Find request ([MS-ASCMD] 2.2.1.2) once read.
type findRequest struct {
	gal           bool // GALSearchCriterion rather than MailBoxSearchCriterion
	text          string
	classes       []string
	collections   []string
	rng           searchRange
	deepTraversal bool
	picture       *pictureOptions
}

// parseFindRequest reads a Find request; its status is findSuccess or the status that
// refuses it. It never panics on any tree (FuzzFindRequest).
func parseFindRequest(root *wbxml.Node) (findRequest, int) {
	fr := findRequest{rng: defaultSearchRange}
	if root == nil || !root.Is(nsFind+":Find") || strings.TrimSpace(root.ChildText(nsFind+":SearchId")) == "" {
		return fr, findInvalidRequest
	}
	exec := root.Child(nsFind + ":ExecuteSearch")
	mbox := exec.Child(nsFind + ":MailBoxSearchCriterion")
	gal := exec.Child(nsFind + ":GalSearchCriterion")
	var crit *wbxml.Node
	switch {
	case mbox != nil && gal == nil:
		crit = mbox
	case gal != nil && mbox == nil:
		crit, fr.gal = gal, true
	default: // [MS-ASCMD] 2.2.3.66: one criterion
		return fr, findInvalidRequest
	}
	query := crit.Child(nsFind + ":Query")
	if query == nil {
		return fr, findInvalidRequest
	}
	if fr.gal {
		// [MS-ASCMD] 2.2.3.142.1: for the GAL, Query is the text itself.
		fr.text = strings.TrimSpace(query.Text)
		if len(query.Children) > 0 {
			fr.text = strings.TrimSpace(query.ChildText(nsFind + ":FreeText"))
		}
	} else {
		for _, c := range query.Children {
			switch c.Name() {
			case nsFind + ":FreeText":
				fr.text = strings.TrimSpace(c.Text)
			case nsAirSync + ":Class":
				fr.classes = append(fr.classes, strings.TrimSpace(c.Text))
			case nsAirSync + ":CollectionId":
				if len(fr.collections) >= searchMaxFolders {
					return fr, findInvalidRequest
				}
				fr.collections = append(fr.collections, strings.TrimSpace(c.Text))
			default:
				return fr, findInvalidRequest
			}
		}
	}
	if fr.text == "" || len(fr.text) > searchMaxQuery {
		return fr, findInvalidRequest
	}
	var options []*wbxml.Node
	if o := crit.Child(nsFind + ":Options"); o != nil {
		options = o.Children
	}
	for _, c := range options {
		switch c.Name() {
		case nsFind + ":Range":
			r, ok := parseSearchRange(c.Text)
			if !ok || r.last > findMaxRange {
				return fr, findInvalidRequest
			}
			// "The server can return fewer results than requested": at most 100.
			r.last = min(r.last, r.first+searchMaxResults-1)
			fr.rng = r
		case nsFind + ":DeepTraversal":
			fr.deepTraversal = true
		case nsFind + ":Picture":
			fr.picture = parsePictureOptions(c)
		}
	}
	return fr, findSuccess
}

// cmdFind is [MS-ASCMD] 2.2.1.2 (16.1): a search of the mailbox or of the GAL, whose
// results carry a fixed set of properties (no bodies).
func (h *Handler) cmdFind(rq *request) (*response, error) {
	if rq.version < v161 {
		return findStatus(findInvalidRequest), nil
	}
	fr, status := parseFindRequest(rq.body)
	if status != findSuccess {
		rq.log.Debug("find refused", "status", status)
		return findStatus(status), nil
	}
	ctx, cancel := context.WithTimeout(rq.ctx, searchTimeout)
	defer cancel()
	if fr.gal {
		return h.findGAL(rq, fr), nil
	}
	return h.findMailbox(ctx, rq, fr)
}

// findStatus is a Find response refusing the request.
func findStatus(status int) *response {
	return &response{body: wbxml.NewElem(nsFind, "Find", statusNode(nsFind, status))}
}

// findResponse lays out a Find response in the order of FindResponse.xsd: Status, then
// Response with itemoperations:Store, Status, the Results, Range and Total.
func findResponse(storeName string, results []*wbxml.Node, first, total int) *response {
	resp := wbxml.NewElem(nsFind, "Response",
		wbxml.NewText(nsIO, "Store", storeName),
		statusNode(nsFind, findSuccess))
	resp.Children = append(resp.Children, results...)
	if len(results) > 0 {
		resp.Add(wbxml.NewText(nsFind, "Range", rangeText(first, len(results))))
	}
	resp.Add(wbxml.NewText(nsFind, "Total", strconv.Itoa(total)))
	return &response{body: wbxml.NewElem(nsFind, "Find", statusNode(nsFind, findSuccess), resp)}
}

// findGAL answers a GAL criterion as Search answers the GAL.
func (h *Handler) findGAL(rq *request, fr findRequest) *response {
	if h.opts.GAL == nil {
		return findStatus(findInvalidRequest)
	}
	matches := galSearch(h.opts.GAL.Snapshot(), fr.text)
	lo, hi := fr.rng.window(len(matches))
	var pics *pictureBudget
	if fr.picture != nil {
		pics = &pictureBudget{opts: fr.picture}
	}
	var results []*wbxml.Node
	for _, e := range matches[lo:hi] {
		results = append(results, wbxml.NewElem(nsFind, "Result",
			renamed(galProperties(e, pics), nsFind, "Properties")))
	}
	return findResponse("GAL", results, lo, len(matches))
}

// findMailbox answers a mailbox criterion from the store's full-text index.
func (h *Handler) findMailbox(ctx context.Context, rq *request, fr findRequest) (*response, error) {
	for _, c := range fr.classes {
		if c != "" && c != "Email" {
			return findResponse("Mailbox", nil, 0, 0), nil // only mail is searched
		}
	}
	folders, _, err := h.searchFolders(ctx, rq, fr.collections, fr.deepTraversal)
	if err != nil {
		return nil, err
	}
	if len(fr.collections) > 0 && len(folders) == 0 {
		// Not one of the user's folders (another account's, deleted, or garbage): the
		// same answer for each, so that nothing is learned about other accounts.
		return findStatus(findFolderSyncRequired), nil
	}
	items, total, err := h.mailSearch(ctx, rq, mailSearchQuery{
		text: fr.text, kql: true, folders: folders,
		offset: fr.rng.first, limit: fr.rng.last - fr.rng.first + 1,
	})
	if err != nil {
		if ctx.Err() != nil && rq.ctx.Err() == nil {
			return findStatus(findInvalidRequest), nil
		}
		return nil, err
	}
	var results []*wbxml.Node
	for _, it := range items {
		props, err := h.findMailProperties(ctx, rq, it)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			rq.log.Debug("find result left out", "item", it.ID, "err", err)
			total--
			continue
		}
		results = append(results, wbxml.NewElem(nsFind, "Result",
			wbxml.NewText(nsAirSync, "Class", "Email"),
			wbxml.NewText(nsAirSync, "ServerId", it.ServerID()),
			wbxml.NewText(nsAirSync, "CollectionId", folderServerID(it.FolderID)),
			props))
	}
	return findResponse("Mailbox", results, fr.rng.first, total), nil
}

// findMailProperties are the properties of a mail result (FindResponse.xsd,
// FindProperties): the message's summary, from the structure stored at delivery.
func (h *Handler) findMailProperties(ctx context.Context, rq *request, it store.Item) (*wbxml.Node, error) {
	parsed, err := h.st.Structure(ctx, rq.p, it.ID)
	if err != nil {
		return nil, err
	}
	env := parsed.Envelope
	props := wbxml.NewElem(nsFind, "Properties",
		wbxml.NewText("Email", "Subject", cleanText(env.Subject)),
		wbxml.NewText("Email", "DateReceived", it.InternalDate.UTC().Format(easTime)),
		wbxml.NewText("Email", "DisplayTo", displayTo(env.To)))
	if s := displayTo(env.Cc); s != "" {
		props.Add(wbxml.NewText(nsFind, "DisplayCc", s))
	}
	if s := displayTo(env.Bcc); s != "" {
		props.Add(wbxml.NewText(nsFind, "DisplayBcc", s))
	}
	props.Add(
		wbxml.NewText("Email", "Importance", "1"),
		wbxml.NewText("Email", "Read", boolText(it.Flags&store.FlagSeen != 0)),
		wbxml.NewText("Email2", "IsDraft", boolText(it.Flags&store.FlagDraft != 0)))
	if p := findPreview(it.Preview); p != "" {
		props.Add(wbxml.NewText(nsFind, "Preview", p))
	}
	props.Add(wbxml.NewText(nsFind, "HasAttachments", boolText(it.HasAttachment)))
	if s := addressList(env.From); s != "" {
		props.Add(wbxml.NewText("Email", "From", s))
	}
	return props, nil
}

// findPreview is the start of a message's text, at most 255 characters as
// [MS-ASAIRS] 2.2.2.38 bounds a Preview.
func findPreview(s string) string {
	s = strings.TrimSpace(cleanText(s))
	if r := []rune(s); len(r) > maxPreview {
		s = string(r[:maxPreview])
	}
	return s
}
