// Package activesync is Gatehouse's Exchange ActiveSync front end
// (/Microsoft-Server-ActiveSync, protocol versions 12.1, 14.0, 14.1, 16.0 and 16.1): the
// HTTP layer of [MS-ASHTTP], the commands of [MS-ASCMD] and the sync state of
// DESIGN.md §2, over the store.
//
// Layout:
//
//   - handler.go: the HTTP layer. OPTIONS, the plain and base64 query forms, Basic auth
//     through directory.AuthenticateHTTP, device registration, the provisioning gate,
//     WBXML decoding and encoding, gzip, and the one place where errors become HTTP
//     statuses (writeError).
//   - query.go: the two query forms of [MS-ASHTTP] 2.2.1.1.1.
//   - cmd_*.go: one file per command (FolderSync with its three siblings, Ping with
//     GetItemEstimate in its own file, ItemOperations with GetAttachment, SendMail with
//     SmartReply and SmartForward); each is a method of Handler taking a *request and
//     returning a *response.
//   - state.go: the device's state (versioned JSON); sync_state.go: a collection's.
//   - sync_engine.go: what a device lacks for a collection, from the store's delta and
//     its known set; Sync, Ping and GetItemEstimate all ask it.
//   - email.go, body.go: an email's ApplicationData and bodies ([MS-ASEMAIL], [MS-ASAIRS]).
//   - folders.go: folder types and ids; attachments.go, fileref.go: FileReferences;
//     compose.go: building the messages SendMail, SmartReply and SmartForward send.
//   - park.go: the device's one long poll; pinghub.go: parked Pings held off net/http.
//   - policy.go, devices.go: the provisioning policy and the admin API (device list,
//     remote wipe).
//
// Invariants a newcomer must not break:
//
//   - A device's sync state is its known set in the store (§2 invariant 4): what Sync,
//     Ping and GetItemEstimate report is computed from the store's delta and the known
//     set, never from a diff of whole folders, and a device's own changes are not echoed
//     back to it.
//   - A Sync's client commands, its new state and its results commit in one store
//     transaction (store.SyncCommit); state N is kept until the device presents N+1, and
//     a replayed request gets the same answer.
//   - Parked Pings and hanging Syncs wait on the store's change feed, never on a timer
//     polling the database; a newer request from the same device ends the older one.
//   - No read transaction is held while writing to the network.
//   - Another account's ServerIds, FileReferences and folder ids are "not found".
package activesync
