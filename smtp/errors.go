package smtp

import (
	"context"
	"errors"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/store"
)

// Replies used in several places (RFC 5321 4.2, enhanced codes RFC 3463).
var (
	errAuthRequired = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	// RFC 4954 4: mechanism requires encryption.
	errEncryptionRequired = &gosmtp.SMTPError{Code: 538, EnhancedCode: gosmtp.EnhancedCode{5, 7, 11}, Message: "Encryption required for requested authentication mechanism"}
	errAuthFailed         = &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	errNoSuchUser         = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errRelayDenied        = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied"}
	errBadRcptSyntax      = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	errBadSenderSyntax    = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 1, 7}, Message: "Bad sender address syntax"}
	errNotYourAddress     = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Sender address not owned by the authenticated user"}
	errMailboxFull        = &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
	errTooLarge           = &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4}, Message: "Message too big"}
	errLocal              = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Local error in processing, try again later"}
	errShuttingDown       = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, try again later"}
	errDMARCReject        = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Rejected by the sender domain's DMARC policy"}
	errLoop               = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 4, 6}, Message: "Too many hops: routing loop detected"}
	errBadMessage         = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "Message content rejected"}
)

// replyFor maps a store (or context) error to the SMTP reply the client sees. It is
// the one place where store errors become wire status (DESIGN.md §1); the detail goes
// to the log, the client gets a short message.
func replyFor(err error) *gosmtp.SMTPError {
	var se *gosmtp.SMTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.Is(err, store.ErrNotFound):
		return errNoSuchUser
	case errors.Is(err, store.ErrOverQuota):
		// RFC 3463 X.2.2; temporary, so the sender retries after the user cleans up.
		return errMailboxFull
	case errors.Is(err, store.ErrTooLarge):
		return errTooLarge
	case errors.Is(err, store.ErrInvalid):
		return errBadMessage
	case errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled):
		return errShuttingDown
	default:
		return errLocal
	}
}
