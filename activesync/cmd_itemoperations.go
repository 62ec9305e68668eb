package activesync

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// ItemOperations statuses, [MS-ASCMD] 2.2.3.177.8.
const (
	ioSuccess       = 1
	ioProtocolError = 2   // protocol violation / XML validation error
	ioServerError   = 3   // complete or partial failure (EmptyFolderContents)
	ioNotFound      = 6   // the object was not found or access was denied
	ioBadRange      = 8   // the byte range is invalid or too large
	ioStoreUnknown  = 9   // the store is unknown or unsupported
	ioTooLarge      = 11  // the requested data size is too large
	ioBadAttachment = 15  // attachment or attachment id is invalid
	ioNotSupported  = 156 // action not supported
)

// The namespaces of ItemOperations responses.
const (
	nsIO      = "ItemOperations"
	nsAirSync = "AirSync"
	nsBase    = "AirSyncBase"
)

// ioReply collects what one ItemOperations request answers: the operations' response
// elements by kind, and in the multipart form ([MS-ASCMD] 2.2.1.10.1) the binary parts
// that Part elements index (part 0 is the WBXML itself).
type ioReply struct {
	moves, empties, fetches []*wbxml.Node
	multipart               bool
	parts                   [][]byte
	// budget is what inline and multipart data may still add to the response, so that
	// a request fetching many large attachments cannot exhaust memory.
	budget int64
}

// addPart stores data as a multipart part and returns the Part element indexing it.
func (r *ioReply) addPart(data []byte) *wbxml.Node {
	r.parts = append(r.parts, data)
	return wbxml.NewText(nsIO, "Part", strconv.Itoa(len(r.parts)))
}

// cmdItemOperations is [MS-ASCMD] 2.2.1.10: Fetch (attachments by FileReference, mail
// items by CollectionId and ServerId), EmptyFolderContents, and conversation Move
// (answered "not supported"). Operations run in request order; the response lists them
// grouped by kind in the order ItemOperationsResponse.xsd requires (Move,
// EmptyFolderContents, Fetch), each kind in request order.
func (h *Handler) cmdItemOperations(rq *request) (*response, error) {
	root := rq.body
	if root == nil || !root.Is(nsIO+":ItemOperations") || len(root.Children) == 0 {
		return ioTopStatus(ioProtocolError), nil
	}
	reply := &ioReply{
		// [MS-ASHTTP] 2.2.1.1.2.5 (header) and 2.2.1.1.1.1.3 (base64 query option).
		multipart: rq.q.AcceptMultiPart || strings.EqualFold(strings.TrimSpace(rq.http.Header.Get("MS-ASAcceptMultiPart")), "T"),
		budget:    2 * h.opts.MaxRequestSize,
	}
	ctx := rq.ctx
	for _, op := range root.Children {
		switch {
		case op.Is(nsIO + ":Fetch"):
			n, err := h.ioFetch(ctx, rq, op, reply)
			if err != nil {
				return nil, err
			}
			reply.fetches = append(reply.fetches, n)
		case op.Is(nsIO + ":EmptyFolderContents"):
			n, err := h.ioEmptyFolderContents(ctx, rq, op)
			if err != nil {
				return nil, err
			}
			reply.empties = append(reply.empties, n)
		case op.Is(nsIO + ":Move"):
			reply.moves = append(reply.moves, ioConversationMove(op))
		default:
			return ioTopStatus(ioProtocolError), nil
		}
	}
	resp := wbxml.NewElem(nsIO, "Response")
	resp.Children = append(append(append(resp.Children, reply.moves...), reply.empties...), reply.fetches...)
	out := wbxml.NewElem(nsIO, "ItemOperations", statusNode(nsIO, ioSuccess), resp)
	if !reply.multipart {
		return &response{body: out}, nil
	}
	first, err := wbxml.Encode(out)
	if err != nil {
		return nil, err
	}
	rq.log.Debug("response", "body", out.String(), "parts", len(reply.parts))
	raw, err := encodeMultipart(append([][]byte{first}, reply.parts...))
	if err != nil {
		return nil, err
	}
	return &response{raw: raw, contentType: multipartContentType}, nil
}

// ioTopStatus is an ItemOperations response carrying only a global status.
func ioTopStatus(status int) *response {
	return &response{body: wbxml.NewElem(nsIO, "ItemOperations", statusNode(nsIO, status))}
}

// ioConversationMove answers an ItemOperations Move (14.0+, moving a whole conversation,
// [MS-ASCMD] 2.2.3.117.1) with "action not supported": conversations are not indexed as
// a unit yet. ItemOperationsResponse.xsd requires ConversationId next to Status.
func ioConversationMove(op *wbxml.Node) *wbxml.Node {
	return wbxml.NewElem(nsIO, "Move", statusNode(nsIO, ioNotSupported),
		wbxml.NewText(nsIO, "ConversationId", op.ChildText(nsIO+":ConversationId")))
}

// fetchReply is one Fetch's answer before it is laid out in schema order.
type fetchReply struct {
	status       int
	collectionID string
	serverID     string
	longID       string
	class        string
	fileRef      string
	hasFileRef   bool
	properties   *wbxml.Node
}

// node lays a Fetch response out in the order of ItemOperationsResponse.xsd: Status,
// CollectionId, ServerId, LongId, Class, FileReference, Properties.
func (f fetchReply) node() *wbxml.Node {
	n := wbxml.NewElem(nsIO, "Fetch", statusNode(nsIO, f.status))
	if f.collectionID != "" {
		n.Add(wbxml.NewText(nsAirSync, "CollectionId", f.collectionID))
	}
	if f.serverID != "" {
		n.Add(wbxml.NewText(nsAirSync, "ServerId", f.serverID))
	}
	if f.longID != "" {
		n.Add(wbxml.NewText("Search", "LongId", f.longID))
	}
	if f.class != "" && f.status == ioSuccess {
		n.Add(wbxml.NewText(nsAirSync, "Class", f.class))
	}
	if f.hasFileRef {
		n.Add(wbxml.NewText(nsBase, "FileReference", f.fileRef))
	}
	if f.properties != nil && f.status == ioSuccess {
		n.Add(f.properties)
	}
	return n
}

// ioFetch runs one Fetch ([MS-ASCMD] 2.2.3.67.1) from the Mailbox store
// ([MS-ASCMD] 2.2.3.178.2): an attachment by FileReference, or an item by CollectionId
// and ServerId. Document libraries and UNC shares are not served.
func (h *Handler) ioFetch(ctx context.Context, rq *request, op *wbxml.Node, reply *ioReply) (*wbxml.Node, error) {
	f := fetchReply{
		collectionID: op.ChildText(nsAirSync + ":CollectionId"),
		serverID:     op.ChildText(nsAirSync + ":ServerId"),
		longID:       op.ChildText("Search:LongId"),
	}
	fileRef := op.Child(nsBase + ":FileReference")
	if fileRef != nil {
		f.fileRef, f.hasFileRef = fileRef.Text, true
	}
	// Store is required by the schema; a client that leaves it out asks the mailbox.
	if s := strings.TrimSpace(op.ChildText(nsIO + ":Store")); s != "" && !strings.EqualFold(s, "Mailbox") {
		f.status = ioStoreUnknown
		return f.node(), nil
	}
	opts := op.Child(nsIO + ":Options")
	var err error
	switch {
	case op.Has("DocumentLibrary:LinkId"):
		f.status = ioStoreUnknown
	case f.hasFileRef:
		f.status, f.properties, err = h.fetchAttachment(ctx, rq, f.fileRef, opts, reply)
	case f.longID != "":
		// A LongId names a Search result, whose full item is fetched this way
		// ([MS-ASCMD] 2.2.1.16); it is the ServerId.
		f.status, f.class, f.properties, err = h.fetchItem(ctx, rq, "", f.longID, opts, reply)
	case f.serverID != "":
		f.status, f.class, f.properties, err = h.fetchItem(ctx, rq, f.collectionID, f.serverID, opts, reply)
	default:
		f.status = ioProtocolError
	}
	if err != nil {
		return nil, err
	}
	return f.node(), nil
}

// fetchAttachment answers a Fetch of an attachment: Properties with the content type,
// the range returned (when one was asked, [MS-ASCMD] 2.2.3.143.2), the total size
// ([MS-ASCMD] 2.2.3.184.2) and the data, inline in base64 ([MS-ASCMD] 2.2.3.39.2) or as a
// multipart Part ([MS-ASCMD] 2.2.3.130).
func (h *Handler) fetchAttachment(ctx context.Context, rq *request, ref string, opts *wbxml.Node, reply *ioReply) (int, *wbxml.Node, error) {
	var (
		rng      byteRange
		hasRange bool
	)
	if opts.Has(nsIO + ":Range") {
		r, err := parseRange(opts.ChildText(nsIO + ":Range"))
		switch {
		case errors.Is(err, errReversedRange):
			return ioBadRange, nil, nil
		case err != nil:
			return ioProtocolError, nil, nil
		}
		rng, hasRange = r, true
	}
	// [MS-ASAIRS] 2.2.2.24.2: an empty FileReference is Status 15, as is one that names
	// nothing this account can reach.
	if ref == "" {
		return ioBadAttachment, nil, nil
	}
	att, err := h.readAttachment(ctx, rq, ref)
	switch {
	case errors.Is(err, errBadFileRef), errors.Is(err, errAttachmentNotFound):
		rq.log.Debug("attachment not found", "fileref", ref, "err", err)
		return ioBadAttachment, nil, nil
	case err != nil:
		return 0, nil, err
	}
	total := int64(len(att.data))
	data := att.data
	props := wbxml.NewElem(nsIO, "Properties", wbxml.NewText(nsBase, "ContentType", att.contentType))
	if hasRange {
		got, ok := rng.clip(total)
		if !ok {
			return ioBadRange, nil, nil
		}
		data = data[got.first : got.last+1]
		props.Add(wbxml.NewText(nsIO, "Range", got.String()))
	}
	props.Add(wbxml.NewText(nsIO, "Total", strconv.FormatInt(total, 10)))
	if int64(len(data)) > reply.budget {
		return ioTooLarge, nil, nil
	}
	reply.budget -= int64(len(data))
	if reply.multipart {
		props.Add(reply.addPart(data))
	} else {
		props.Add(wbxml.NewText(nsIO, "Data", base64.StdEncoding.EncodeToString(data)))
	}
	return ioSuccess, props, nil
}

// fetchItem answers a Fetch of a mail item by CollectionId and ServerId: its Class and
// Properties holding what a Sync Add's ApplicationData holds, shaped by the Fetch's
// Options (body preferences, [MS-ASCMD] 2.2.3.125.3). A ServerId of another folder or
// another account is "not found".
func (h *Handler) fetchItem(ctx context.Context, rq *request, collectionID, serverID string, opts *wbxml.Node, reply *ioReply) (status int, class string, props *wbxml.Node, err error) {
	folderID, itemID, perr := store.ParseServerID(serverID)
	if perr != nil {
		return ioNotFound, "", nil, nil
	}
	if collectionID != "" && collectionID != folderServerID(folderID) {
		return ioNotFound, "", nil, nil
	}
	it, err := h.st.GetItem(ctx, rq.p, itemID)
	if errors.Is(err, store.ErrNotFound) {
		return ioNotFound, "", nil, nil
	}
	if err != nil {
		return 0, "", nil, err
	}
	if it.FolderID != folderID {
		return ioNotFound, "", nil, nil
	}
	if it.Class != store.ClassMail {
		// Contacts, events, tasks and notes are fetched through Sync.
		return ioNotSupported, "", nil, nil
	}
	props, status, err = h.itemFetchProperties(ctx, rq, it, opts)
	if err != nil || status != ioSuccess {
		return status, "", nil, err
	}
	if reply.multipart {
		moveBodyDataToParts(props, reply)
	}
	return ioSuccess, "Email", props, nil
}

// itemFetchProperties renders a mail item as ItemOperations Properties: the children a
// Sync Add's ApplicationData has ([MS-ASCMD] 2.2.3.139.2), with the bodies the Fetch's
// Options ask for.
func (h *Handler) itemFetchProperties(ctx context.Context, rq *request, it store.Item, opts *wbxml.Node) (*wbxml.Node, int, error) {
	ad, err := h.emailApplicationData(ctx, rq, it, parseBodyOptions(opts))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ioNotFound, nil // deleted meanwhile
	}
	if err != nil {
		return nil, 0, err
	}
	return wbxml.NewElem(nsIO, "Properties", ad.Children...), ioSuccess, nil
}

// moveBodyDataToParts replaces the inline data of each airsyncbase:Body in props with a
// Part index into the multipart response ([MS-ASCMD] 2.2.3.130: Part takes Data's place
// as a child of airsyncbase:Body).
func moveBodyDataToParts(props *wbxml.Node, reply *ioReply) {
	for _, body := range props.All(nsBase + ":Body") {
		for i, c := range body.Children {
			if !c.Is(nsBase + ":Data") {
				continue
			}
			data := c.Opaque
			if data == nil {
				data = []byte(c.Text)
			}
			body.Children[i] = reply.addPart(data)
		}
	}
}

// ioEmptyFolderContents empties a folder ([MS-ASCMD] 2.2.3.58; clients use it on
// Deleted Items), and with Options/DeleteSubFolders ([MS-ASCMD] 2.2.3.44) deletes its
// subfolders. Items are deleted in chunks, each one short store mutation made as this
// device (store.SyncCommit), so that its known set forgets them and no Delete is echoed
// back to it; other devices learn of it through Sync.
func (h *Handler) ioEmptyFolderContents(ctx context.Context, rq *request, op *wbxml.Node) (*wbxml.Node, error) {
	cid := op.ChildText(nsAirSync + ":CollectionId")
	answer := func(status int) *wbxml.Node {
		return wbxml.NewElem(nsIO, "EmptyFolderContents", statusNode(nsIO, status), wbxml.NewText(nsAirSync, "CollectionId", cid))
	}
	if cid == "" {
		return answer(ioProtocolError), nil
	}
	folder, err := h.folderForCollection(ctx, rq, cid)
	if errors.Is(err, store.ErrNotFound) {
		return answer(ioNotFound), nil
	}
	if err != nil {
		return nil, err
	}
	uids, err := h.st.FolderUIDs(ctx, rq.p, folder.ID)
	if err != nil {
		return nil, err
	}
	const chunk = 500
	for len(uids) > 0 {
		n := min(len(uids), chunk)
		sel := store.Selector{FolderID: folder.ID, UIDs: []store.UIDRange{{First: uids[0], Last: uids[n-1]}}}
		uids = uids[n:]
		err := h.st.SyncCommit(ctx, rq.p, rq.dev, func(x *store.SyncTx) error {
			_, err := x.Delete(sel)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return answer(ioNotFound), nil // the folder went away meanwhile
		}
		if err != nil {
			return nil, err
		}
	}
	status := ioSuccess
	if op.Child(nsIO + ":Options").Has(nsIO + ":DeleteSubFolders") {
		if status, err = h.deleteSubfolders(ctx, rq, folder.ID); err != nil {
			return nil, err
		}
	}
	return answer(status), nil
}

// deleteSubfolders deletes the folders under parent, with their own subfolders, and
// drops this device's sync state for each of them. A folder with a special role cannot
// be deleted (store.ErrInvalid); it stays and the operation is a partial failure.
func (h *Handler) deleteSubfolders(ctx context.Context, rq *request, parent int64) (int, error) {
	folders, err := h.st.Folders(ctx, rq.p)
	if err != nil {
		return 0, err
	}
	children := map[int64][]int64{}
	for _, f := range folders {
		children[f.ParentID] = append(children[f.ParentID], f.ID)
	}
	var subtree func(id int64) []int64
	subtree = func(id int64) []int64 {
		out := []int64{id}
		for _, c := range children[id] {
			out = append(out, subtree(c)...)
		}
		return out
	}
	status := ioSuccess
	var gone []int64
	for _, child := range children[parent] {
		err := h.st.DeleteFolder(ctx, rq.p, child)
		switch {
		case err == nil:
			gone = append(gone, subtree(child)...)
		case errors.Is(err, store.ErrInvalid):
			rq.log.Info("EmptyFolderContents: subfolder not deleted", "folder", child, "err", err)
			status = ioServerError
		case errors.Is(err, store.ErrNotFound):
			// deleted meanwhile
		default:
			return 0, err
		}
	}
	if len(gone) == 0 {
		return status, nil
	}
	err = h.st.SyncCommit(ctx, rq.p, rq.dev, func(x *store.SyncTx) error {
		for _, id := range gone {
			if err := x.ResetCollection(id); err != nil {
				return err
			}
		}
		return nil
	})
	return status, err
}

// cmdGetAttachment is [MS-ASCMD] 2.2.1.7 (12.1 only; later versions use ItemOperations):
// the attachment named by the AttachmentName query parameter, a FileReference, sent raw
// with its Content-Type. An attachment that cannot be found is HTTP 500, as the
// specification says of one deleted on the server.
func (h *Handler) cmdGetAttachment(rq *request) (*response, error) {
	if rq.version >= v140 {
		rq.log.Info("GetAttachment is not part of protocol version", "version", versionString(rq.version))
		return &response{status: http.StatusBadRequest}, nil
	}
	ref := rq.q.AttachmentName
	att, err := h.readAttachment(rq.ctx, rq, ref)
	switch {
	case errors.Is(err, errBadFileRef):
		rq.log.Info("GetAttachment: malformed AttachmentName", "name", ref)
		return &response{status: http.StatusBadRequest}, nil
	case errors.Is(err, errAttachmentNotFound):
		rq.log.Info("GetAttachment: not found", "name", ref)
		return &response{status: http.StatusInternalServerError}, nil
	case err != nil:
		return nil, err
	}
	return &response{raw: att.data, contentType: att.contentType}, nil
}
