package etcdhost

import (
	"fmt"

	"github.com/raftsim/raftsim/sim"
)

// Logger is the library's logger (raft.Logger) for one node: its lines go to the run's trace
// when there is one and nowhere otherwise, so nothing reaches the terminal during a run. Debug
// lines are dropped: they describe every message. Fatal and Panic panic, as the library
// expects of them, and the run fails with the message.
type Logger struct {
	env *sim.Env
}

func (l *Logger) line(level string, msg func() string) {
	if l.env != nil && l.env.Tracing() {
		l.env.Logf("etcd raft %s: %s", level, msg())
	}
}

func (l *Logger) Debug(v ...any)                 {}
func (l *Logger) Debugf(format string, v ...any) {}
func (l *Logger) Info(v ...any)                  { l.line("info", func() string { return fmt.Sprint(v...) }) }
func (l *Logger) Infof(format string, v ...any) {
	l.line("info", func() string { return fmt.Sprintf(format, v...) })
}
func (l *Logger) Warning(v ...any) { l.line("warning", func() string { return fmt.Sprint(v...) }) }
func (l *Logger) Warningf(format string, v ...any) {
	l.line("warning", func() string { return fmt.Sprintf(format, v...) })
}
func (l *Logger) Error(v ...any) { l.line("error", func() string { return fmt.Sprint(v...) }) }
func (l *Logger) Errorf(format string, v ...any) {
	l.line("error", func() string { return fmt.Sprintf(format, v...) })
}
func (l *Logger) Fatal(v ...any) { panic("etcd raft fatal: " + fmt.Sprint(v...)) }
func (l *Logger) Fatalf(format string, v ...any) {
	panic("etcd raft fatal: " + fmt.Sprintf(format, v...))
}
func (l *Logger) Panic(v ...any)                 { panic("etcd raft: " + fmt.Sprint(v...)) }
func (l *Logger) Panicf(format string, v ...any) { panic("etcd raft: " + fmt.Sprintf(format, v...)) }
