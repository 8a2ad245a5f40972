// Command roomkiosk-screen is the touchscreen: it renders the daemon's
// snapshots and sends the user's intents over the local control socket.
package main

func main() {}
