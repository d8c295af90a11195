package mock

import (
	"context"
	"sync"

	"portal"
)

var _ portal.Store = (*FailingStore)(nil)

// FailingStore wraps a Store and makes its View or Update calls fail on demand, as a
// database that is locked, full or gone would: the wrapped store is not called then.
type FailingStore struct {
	portal.Store
	mu               sync.Mutex
	viewErr, updErr  error
	failedV, failedU int
}

// NewFailingStore wraps s; it passes every call through until Fail is called.
func NewFailingStore(s portal.Store) *FailingStore { return &FailingStore{Store: s} }

// Fail makes later View calls return viewErr and Update calls return updateErr (nil: pass
// through).
func (f *FailingStore) Fail(viewErr, updateErr error) {
	f.mu.Lock()
	f.viewErr, f.updErr = viewErr, updateErr
	f.mu.Unlock()
}

// Heal passes every later call through again.
func (f *FailingStore) Heal() { f.Fail(nil, nil) }

// Failed returns how many View and Update calls failed.
func (f *FailingStore) Failed() (views, updates int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failedV, f.failedU
}

func (f *FailingStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	f.mu.Lock()
	err := f.viewErr
	if err != nil {
		f.failedV++
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.View(ctx, fn)
}

func (f *FailingStore) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	f.mu.Lock()
	err := f.updErr
	if err != nil {
		f.failedU++
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.Update(ctx, fn)
}
