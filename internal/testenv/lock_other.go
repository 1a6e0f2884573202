//go:build !unix

package testenv

import (
	"errors"
	"os"
	"time"
)

// brokerLock does nothing where flock(2) does not exist: there, run the real-broker tests with
// go test -p 1, and restart only from tests that run alone.
type brokerLock struct{ f *os.File }

func (l *brokerLock) shared() error { return nil }
func (l *brokerLock) exclusive(wait time.Duration) error {
	return errors.New("no file locks on this system")
}
func (l *brokerLock) close() { l.f.Close() }
