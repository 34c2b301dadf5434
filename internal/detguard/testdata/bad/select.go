package bad

func waitForever() {
	select {} // want select
}
