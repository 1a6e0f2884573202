package connector

// TxnProducer is the writer's view of its transactional producer, for the tests of this
// package's black-box suite.
type TxnProducer = txnProducer

// WrapProducer puts f between the writer of every session and its producer.
func (c *Connector) WrapProducer(f func(TxnProducer) TxnProducer) { c.wrapProducer = f }
