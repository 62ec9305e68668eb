package activesync

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/message"
	"github.com/gatehouse/gatehouse/store"
)

// An attachment is read the way IMAP reads BODY[section]: the item is resolved with the
// requester's principal (another account's FileReference is "not found", §2 invariant 7),
// the part is located through the structure stored at delivery, and only the part's own
// bytes are read from the blob, with no store transaction open (§2 invariant 1).

// errAttachmentNotFound: the FileReference is well formed but names nothing the
// requester can reach (no such item, another account's, not in that folder, no such
// part, or a part that is not a leaf).
var errAttachmentNotFound = errors.New("activesync: attachment not found")

// attachmentContent is one attachment's content as a client receives it.
type attachmentContent struct {
	contentType string // "type/subtype", lower case
	data        []byte // decoded (Content-Transfer-Encoding undone)
}

// readAttachment resolves a FileReference ([MS-ASAIRS] 2.2.2.24.2, our format in
// fileref.go) and returns the decoded part. Errors: errBadFileRef, errAttachmentNotFound,
// or an unexpected store or I/O error.
func (h *Handler) readAttachment(ctx context.Context, rq *request, ref string) (attachmentContent, error) {
	folderID, itemID, section, err := parseFileRef(ref)
	if err != nil {
		return attachmentContent{}, err
	}
	nums, err := message.ParseSection(section)
	if err != nil || len(nums) == 0 {
		return attachmentContent{}, errBadFileRef
	}
	it, err := h.st.GetItem(ctx, rq.p, itemID)
	if errors.Is(err, store.ErrNotFound) {
		return attachmentContent{}, errAttachmentNotFound
	}
	if err != nil {
		return attachmentContent{}, err
	}
	if it.FolderID != folderID || it.Class != store.ClassMail || it.BlobHash == "" {
		return attachmentContent{}, errAttachmentNotFound
	}
	parsed, err := h.st.Structure(ctx, rq.p, itemID)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return attachmentContent{}, errAttachmentNotFound
	}
	if err != nil {
		return attachmentContent{}, err
	}
	part := parsed.Structure.Find(nums)
	if part == nil || len(part.Children) > 0 || part.BodyStart < 0 || part.End < part.BodyStart {
		return attachmentContent{}, errAttachmentNotFound
	}
	contentType := part.Type + "/" + part.Subtype
	for _, a := range parsed.Attachments {
		if a.Part == section && a.ContentType != "" {
			contentType = a.ContentType
			break
		}
	}
	f, err := h.st.OpenBlob(ctx, rq.p, itemID)
	if errors.Is(err, store.ErrNotFound) {
		return attachmentContent{}, errAttachmentNotFound
	}
	if err != nil {
		return attachmentContent{}, err
	}
	defer f.Close()
	// Read only the part's encoded body, then decode it with the part's offsets moved
	// to the start of that buffer.
	body := make([]byte, part.End-part.BodyStart)
	if _, err := f.ReadAt(body, part.BodyStart); err != nil && !(errors.Is(err, io.EOF) && len(body) == 0) {
		return attachmentContent{}, fmt.Errorf("activesync: reading attachment %s: %w", ref, err)
	}
	shifted := *part
	shifted.HeaderStart, shifted.BodyStart, shifted.End = 0, 0, int64(len(body))
	return attachmentContent{contentType: contentType, data: shifted.DecodedBody(body)}, nil
}

// byteRange is an ItemOperations Range ([MS-ASCMD] 2.2.3.143.2): "first-last", both
// inclusive, zero-based byte offsets.
type byteRange struct {
	first, last int64
}

func (r byteRange) String() string {
	return strconv.FormatInt(r.first, 10) + "-" + strconv.FormatInt(r.last, 10)
}

var (
	errBadRange      = errors.New("activesync: malformed Range")
	errReversedRange = errors.New("activesync: Range ends before it starts")
)

// parseRange reads a Range as the schema allows it ([0-9]{1,9}-[0-9]{1,9}): errBadRange
// for anything else (a protocol error), errReversedRange when first is after last (an
// invalid byte range).
func parseRange(s string) (byteRange, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return byteRange{}, errBadRange
	}
	first, ok1 := parseDigits(a)
	last, ok2 := parseDigits(b)
	if !ok1 || !ok2 {
		return byteRange{}, errBadRange
	}
	if first > last {
		return byteRange{}, errReversedRange
	}
	return byteRange{first: first, last: last}, nil
}

// parseDigits reads 1 to 9 ASCII digits.
func parseDigits(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// clip applies a requested range to content of total bytes: the range actually
// returned, or false when the range starts at or after the end ([MS-ASCMD] 2.2.3.177.8
// Status 8, byte range invalid or too large). A range reaching past the end is cut at
// the end.
func (r byteRange) clip(total int64) (byteRange, bool) {
	if r.first >= total {
		return byteRange{}, false
	}
	return byteRange{first: r.first, last: min(r.last, total-1)}, true
}

// multipartContentType is the Content-Type of a multipart ItemOperations response
// ([MS-ASCMD] 2.2.1.10.1).
const multipartContentType = "application/vnd.ms-sync.multipart"

// encodeMultipart lays parts out as a MultiPartResponse ([MS-ASCMD] 2.2.1.10.1.1):
// PartsCount, then one PartMetaData (Offset, Length) per part, then the parts, all
// integers 32-bit little-endian, offsets counted from the start of the structure. Part 0
// is the WBXML response; the Part elements inside it index the others.
func encodeMultipart(parts [][]byte) ([]byte, error) {
	header := 4 + 8*len(parts)
	total := int64(header)
	for _, p := range parts {
		total += int64(len(p))
	}
	if total > 1<<32-1 {
		return nil, fmt.Errorf("activesync: multipart response of %d bytes is too large", total)
	}
	out := make([]byte, header, total)
	binary.LittleEndian.PutUint32(out[0:], uint32(len(parts)))
	off := uint32(header)
	for i, p := range parts {
		binary.LittleEndian.PutUint32(out[4+8*i:], off)
		binary.LittleEndian.PutUint32(out[8+8*i:], uint32(len(p)))
		off += uint32(len(p))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}
