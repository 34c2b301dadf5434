package browser

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
)

// webSocket is the client side of RFC 6455, as much as the DevTools protocol needs: text
// messages (fragmented or not), pings, close. Frames from the client are masked, as the RFC
// requires.
type webSocket struct {
	conn    net.Conn
	r       *bufio.Reader
	writeMu sync.Mutex
}

// maxMessageBytes bounds one incoming message (a full-page screenshot is a few MB of base64).
const maxMessageBytes = 256 << 20

// websocketGUID is the fixed string of the RFC's handshake.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func dialWebSocket(ctx context.Context, rawURL string) (*webSocket, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "ws" {
		return nil, fmt.Errorf("browser: bad DevTools address %q", rawURL)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("browser: connecting to %s: %w", u.Host, err)
	}
	// The key only proves that the server speaks WebSocket; it need not be unpredictable here.
	key := base64.StdEncoding.EncodeToString([]byte("raftsim-devtools"))
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("browser: WebSocket handshake: %w", err)
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(key + websocketGUID))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("browser: WebSocket handshake refused: %s", resp.Status)
	}
	return &webSocket{conn: conn, r: r}, nil
}

func (w *webSocket) Close() error { return w.conn.Close() }

const (
	opContinuation = 0x0
	opText         = 0x1
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// WriteMessage sends one text message in one masked frame.
func (w *webSocket) WriteMessage(data []byte) error { return w.writeFrame(opText, data) }

func (w *webSocket) writeFrame(opcode byte, data []byte) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	header := []byte{0x80 | opcode}
	const maskBit = 0x80
	switch n := len(data); {
	case n < 126:
		header = append(header, maskBit|byte(n))
	case n <= 0xFFFF:
		header = append(header, maskBit|126)
		header = binary.BigEndian.AppendUint16(header, uint16(n))
	default:
		header = append(header, maskBit|127)
		header = binary.BigEndian.AppendUint64(header, uint64(n))
	}
	mask := [4]byte{0x5a, 0x3c, 0x96, 0xe1}
	header = append(header, mask[:]...)
	masked := make([]byte, len(data))
	for i, c := range data {
		masked[i] = c ^ mask[i%4]
	}
	_, err := w.conn.Write(append(header, masked...))
	return err
}

// ReadMessage returns the next text or binary message, answering pings on the way.
func (w *webSocket) ReadMessage() ([]byte, error) {
	var message []byte
	for {
		var head [2]byte
		if _, err := io.ReadFull(w.r, head[:]); err != nil {
			return nil, err
		}
		fin, opcode := head[0]&0x80 != 0, head[0]&0x0F
		masked := head[1]&0x80 != 0
		n := uint64(head[1] & 0x7F)
		switch n {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(w.r, ext[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(w.r, ext[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(ext[:])
		}
		if n > maxMessageBytes || uint64(len(message))+n > maxMessageBytes {
			return nil, fmt.Errorf("browser: WebSocket message larger than %d bytes", maxMessageBytes)
		}
		var mask [4]byte
		if masked {
			if _, err := io.ReadFull(w.r, mask[:]); err != nil {
				return nil, err
			}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(w.r, payload); err != nil {
			return nil, err
		}
		if masked {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch opcode {
		case opPing:
			if err := w.writeFrame(opPong, payload); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			return nil, errors.New("browser: the browser closed the connection")
		case opContinuation, opText, 0x2:
			message = append(message, payload...)
			if fin {
				return message, nil
			}
		default:
			return nil, fmt.Errorf("browser: unknown WebSocket opcode %#x", opcode)
		}
	}
}
