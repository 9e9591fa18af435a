//go:build race

package softmax

// raceEnabled reports whether the race detector is on. Under it, sync.Pool
// drops some of what is put back, on purpose, so the operations that take
// their working memory from a pool allocate now and then: the tests that
// count their allocations skip those operations.
const raceEnabled = true
