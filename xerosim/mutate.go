package xerosim

// mutator changes data over time.
type mutator struct {
	s *Sim
}

func newMutator(s *Sim) *mutator { return &mutator{s: s} }

func (m *mutator) run(stop chan struct{}) {
	defer m.s.done.Done()
	<-stop
}
