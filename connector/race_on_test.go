//go:build race

package connector

// raceSlack is what the race detector adds to the footprint tests' measure: it drops what
// sync.Pool holds at random, so a stream's first cycle leaves a little more on the heap.
const raceSlack = 80
