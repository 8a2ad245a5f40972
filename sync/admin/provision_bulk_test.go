package admin

import (
	"strings"
	"testing"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/admin/admintest"
	"roomkiosk/sync/miniotest"
)

// Rooms provisioned in bulk get exactly the rights of `roomctl provision`;
// a bad room or a wrong admin secret is refused by name.
func TestProvisionRooms(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "archive", true)
	conn := Conn{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: "archive"}
	mc := MC{Path: testenv.Tool(t, "mc"), Conn: conn}
	ctx := ctxT(t)

	rooms := map[string]DeviceCredentials{"201": NewDeviceCredentials(), "202": NewDeviceCredentials(), "203": NewDeviceCredentials()}
	if err := mc.ProvisionRooms(ctx, rooms); err != nil {
		t.Fatal(err)
	}
	admintest.CheckDeviceRights(t, srv.ClientFor(t, rooms["201"].AccessKey, rooms["201"].SecretKey), "archive", "201", "202")
	admintest.CheckDeviceRights(t, srv.ClientFor(t, rooms["203"].AccessKey, rooms["203"].SecretKey), "archive", "203", "201")

	if err := mc.ProvisionRooms(ctx, map[string]DeviceCredentials{"20/4": NewDeviceCredentials()}); err == nil || !strings.Contains(err.Error(), `room "20/4"`) {
		t.Fatalf("bad room id: %v", err)
	}
	c := NewDeviceCredentials()
	if err := mc.ProvisionRooms(ctx, map[string]DeviceCredentials{"205": c, "206": c}); err == nil || !strings.Contains(err.Error(), "two rooms") {
		t.Fatalf("one key for two rooms: %v", err)
	}
	bad := MC{Path: mc.Path, Conn: conn}
	bad.Conn.SecretKey = "wrong-secret"
	if err := bad.ProvisionRooms(ctx, map[string]DeviceCredentials{"207": NewDeviceCredentials()}); err == nil || !strings.Contains(err.Error(), "set admin alias") {
		t.Fatalf("wrong admin secret: %v", err)
	}
}
