package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// MaxPhotoSize bounds an account's directory photo (LDAP jpegPhoto, the ActiveSync GAL
// Picture): what a phone shows as a contact picture needs far less.
const MaxPhotoSize = 100 << 10

// UpdateAttributes changes an account's address-book attributes in one mutation:
// edit sees the current ones and changes what it wants, so fields it leaves alone are
// kept even if someone else changed them meanwhile. The directory hint it publishes
// lets the GAL (and LDAP) follow.
func (s *Store) UpdateAttributes(ctx context.Context, id int64, edit func(*Attributes)) (Account, error) {
	err := s.write(ctx, func(t *tx) error {
		a, err := scanAccount(t.queryRow("SELECT "+accountCols+" FROM account WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		at := a.Attributes
		edit(&at)
		if len(at.Photo) > MaxPhotoSize {
			return fmt.Errorf("%w: photo of %d bytes (at most %d)", ErrTooLarge, len(at.Photo), MaxPhotoSize)
		}
		if _, err := t.exec(`UPDATE account SET display_name=?, given_name=?, surname=?, title=?, department=?,
company=?, office=?, phone=?, mobile=?, street=?, city=?, postal_code=?, country=?, photo=?, hidden_from_gal=? WHERE id = ?`,
			at.DisplayName, at.GivenName, at.Surname, at.Title, at.Department, at.Company, at.Office, at.Phone, at.Mobile,
			at.Street, at.City, at.PostalCode, at.Country, at.Photo, at.HiddenFromGAL, id); err != nil {
			return err
		}
		t.directoryChanged(id)
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return s.Account(ctx, id)
}
