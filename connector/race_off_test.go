//go:build !race

package connector

// raceSlack is what the race detector adds to the footprint tests' measure; none without it.
const raceSlack = 0
