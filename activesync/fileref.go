package activesync

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// An attachment's FileReference ([MS-ASAIRS] 2.2.2.24.2) is "<folderId>:<itemId>:<part>",
// the item's ServerId followed by the attachment's IMAP part number ("2", "1.3"). Like a
// ServerId it is the same for every device; like every reference a device sends, it is
// resolved through the store with the requesting account's principal, so another
// account's reference is "not found".

var errBadFileRef = errors.New("activesync: malformed FileReference")

// formatFileRef builds an attachment's FileReference.
func formatFileRef(folder, item int64, part string) string {
	return strconv.FormatInt(folder, 10) + ":" + strconv.FormatInt(item, 10) + ":" + part
}

// parseFileRef splits a FileReference into the item's folder and id and the part number.
func parseFileRef(ref string) (folder, item int64, part string, err error) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 {
		return 0, 0, "", errBadFileRef
	}
	part = ref[i+1:]
	if part == "" || strings.Trim(part, "0123456789.") != "" || strings.HasPrefix(part, ".") ||
		strings.HasSuffix(part, ".") || strings.Contains(part, "..") || len(part) > 64 {
		return 0, 0, "", errBadFileRef
	}
	folder, item, err = store.ParseServerID(ref[:i])
	if err != nil {
		return 0, 0, "", errBadFileRef
	}
	return folder, item, part, nil
}
