package bad

import . "time"

func dotImported() Time {
	return Now() // want time
}
