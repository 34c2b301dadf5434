package bad

func channels() int {
	c := make(chan int, 1) // want channel
	c <- 1                 // want channel
	sum := <-c             // want channel
	close(c)
	for v := range c { // want channel
		sum += v
	}
	return sum
}
