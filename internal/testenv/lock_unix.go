//go:build unix

package testenv

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// brokerLock is an flock(2) on a file shared by every test process that uses the real broker:
// held shared while a test uses it, exclusive while one restarts it.
type brokerLock struct{ f *os.File }

func (l *brokerLock) shared() error { return flock(l.f, syscall.LOCK_SH) }

// exclusive waits, at most wait, until no other holder is left. It polls rather than blocks: a
// holder that never lets go (the same test holding a second Kafka, a parent test holding one)
// then ends in an error instead of a hung test.
func (l *brokerLock) exclusive(wait time.Duration) error {
	if err := flock(l.f, syscall.LOCK_UN); err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		err := flock(l.f, syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("other tests still used the broker after %v (does this test, or its parent, hold a second testenv.Kafka?)", wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (l *brokerLock) close() { l.f.Close() } // closing releases the lock

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
