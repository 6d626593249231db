package sqlstore

import (
	"errors"

	"github.com/galleon-project/galleon"
)

// errNilUpdate reports an Update that returned neither a value nor an
// error: a caller bug, refused rather than written as an empty row.
var errNilUpdate = errors.New("update returned neither a resource nor an error")

// applyUpdate runs update on the current state inside a Put's transaction.
func applyUpdate[T any](update galleon.Update[T], old *T) (*T, error) {
	v, err := update(old)
	if err == nil && v == nil {
		err = errNilUpdate
	}
	return v, err
}
