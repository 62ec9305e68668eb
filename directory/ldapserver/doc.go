// Package ldapserver is Gatehouse's LDAP front end (RFC 4511): a read-only view of the
// Global Address List for Thunderbird, Outlook and Apple Contacts.
//
// Tree, per hosted domain: dc=<domain parts> (dcObject, organization), ou=people with
// one inetOrgPerson per account not hidden from the GAL (uid = local part), ou=groups
// with one groupOfNames per distribution group not hidden (cn = local part; member =
// the DNs of its members in the tree; groups.go); plus the Root DSE and cn=Subschema. A bound user also sees
// their own Contacts folder as ou=contacts,uid=<them>,… (read-only); nobody else does.
//
// Operations: simple Bind (full DN, address, alias or bare uid, always through
// directory.Authenticate, so failures answer invalidCredentials and are throttled like
// every protocol; anonymous only with Options.AllowAnonymous; a password over plain TCP
// only from loopback unless AllowPlaintextWithoutTLS: confidentialityRequired), Unbind,
// Abandon, Search (every filter choice, three-valued; every scope; attribute selection
// with "*", "+" and "1.1"; typesOnly; size and time limits; paged results RFC 2696 and
// server-side sort RFC 2891), Compare, the StartTLS and WhoAmI (RFC 4532) extended
// operations. Add, Modify, Delete and ModifyDN answer unwillingToPerform.
//
// Invariants a newcomer must not break:
//   - A search never queries the store: it reads the directory.GAL snapshot (kept current
//     by the change feed) through a tree built once per snapshot (tree.go). Personal
//     contacts come from GAL.PersonalContacts (cached per account, dropped on the feed's
//     hint) for the connection's bound account only, and are never put in the shared
//     tree.
//   - Client bytes reach the BER decoder only after readFrame (length <= maxMessageSize,
//     definite lengths) and checkShape (iterative; nesting <= maxDepth, element count
//     bounded). Nothing recurses on client nesting beyond maxDepth.
//   - A request that cannot be parsed is answered with a Notice of Disconnection
//     (protocolError) and the connection is closed; other connections are untouched.
//     Panics are recovered per connection and per search.
//   - Internal errors map to LDAP result codes in one place, conn.errorResult.
//   - Bind and StartTLS wait for the connection's outstanding searches (RFC 4511 4.2.1,
//     4.14.1); searches run concurrently, at most maxOutstanding per connection.
package ldapserver
