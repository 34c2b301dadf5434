package bad

func background(work func()) {
	go work() // want goroutine
}
