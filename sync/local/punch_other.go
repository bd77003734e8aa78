//go:build !linux

package local

import (
	"errors"
	"os"
)

func punchHole(*os.File, int64, int64) error { return errors.ErrUnsupported }

func freeSpace(string) (int64, error) { return 0, errors.ErrUnsupported }
