// Package archtest holds the tests that keep DESIGN.md §1's dependency rules: front
// ends never import each other, leaves (message, calendar, mapi, activesync/wbxml)
// import no other Gatehouse package, and nothing outside store/ imports a SQL package.
package archtest
