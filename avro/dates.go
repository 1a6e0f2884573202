package avro

import (
	"fmt"
	"math"
	"time"

	"github.com/xero-kafka/xero-kafka/internal/xerotime"
)

const msPerDay = 24 * 60 * 60 * 1000

// daysOf turns an instant (xerotime's reading of a date value, its offset applied) into an Avro
// date: days since the epoch. A date Xero sends is a whole day once its offset is applied
// ("/Date(1397390400000+1200)/" is 2014-04-14); any other time of day is an error, never
// truncated.
func daysOf(ms int64, text []byte) (int32, error) {
	if ms%msPerDay != 0 {
		return 0, fmt.Errorf("%s is not midnight UTC (%s); the field is a date",
			quoteValue(text), time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	}
	days := ms / msPerDay
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, fmt.Errorf("%s is out of the range of a date", quoteValue(text))
	}
	return int32(days), nil
}

// quoteValue quotes a value for an error message, shortened when long.
func quoteValue(s []byte) string { return xerotime.Quote(s) }
