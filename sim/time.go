package sim

import (
	"strconv"
	"time"
)

// Time is a point on the simulation's virtual clock, in nanoseconds since the run started. It
// is also used for virtual durations. It never comes from the host clock.
type Time int64

// Units of virtual time.
const (
	Nanosecond  Time = 1
	Microsecond      = 1000 * Nanosecond
	Millisecond      = 1000 * Microsecond
	Second           = 1000 * Millisecond
)

// String shows t in seconds: "12.345678s" when t is a whole number of microseconds (the usual
// case in traces), otherwise with nanosecond digits, "12.345678901s".
func (t Time) String() string {
	var buf [32]byte
	out := buf[:0]
	magnitude := uint64(t)
	if t < 0 {
		out = append(out, '-')
		magnitude = -magnitude
	}
	const nanosPerSecond = uint64(Second)
	out = strconv.AppendUint(out, magnitude/nanosPerSecond, 10)
	out = append(out, '.')
	fraction := magnitude % nanosPerSecond
	digits := 9
	if fraction%1000 == 0 {
		fraction /= 1000
		digits = 6
	}
	var fractionDigits [9]byte
	for i := digits - 1; i >= 0; i-- {
		fractionDigits[i] = byte('0' + fraction%10)
		fraction /= 10
	}
	out = append(out, fractionDigits[:digits]...)
	out = append(out, 's')
	return string(out)
}

// Duration converts t to a time.Duration (same unit), for printing or for configuration
// code that speaks time.Duration. It does not touch the host clock.
func (t Time) Duration() time.Duration { return time.Duration(t) }

// FromDuration converts a time.Duration into virtual time.
func FromDuration(d time.Duration) Time { return Time(d) }
