package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// composeClient returns the command that runs Docker Compose: the docker CLI's compose plugin,
// or the standalone docker-compose (Debian's package). Neither needs a Docker engine to check a
// file.
func composeClient(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("docker"); err == nil {
		if exec.Command("docker", "compose", "version").Run() == nil {
			return []string{"docker", "compose"}
		}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	testenv.Unavailable(t, "no Docker Compose client (docker compose or docker-compose) to check docker-compose.yml")
	return nil
}

// TestComposeFile: docker-compose.yml is valid for a Compose client, refuses to start without the
// Xero secrets, and runs the same Kafka and Apicurio versions as the integration suite.
func TestComposeFile(t *testing.T) {
	root := testenv.RepoRoot(t)
	file := filepath.Join(root, "docker-compose.yml")

	t.Run("same versions as the suite", func(t *testing.T) {
		compose, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		common, err := os.ReadFile(filepath.Join(root, "scripts", "common.sh"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ variable, image string }{
			{"XK_KAFKA_VERSION", "apache/kafka"},
			{"XK_APICURIO_VERSION", "apicurio/apicurio-registry"},
		} {
			m := regexp.MustCompile(`\$\{` + c.variable + `:-([^}]+)\}`).FindSubmatch(common)
			if m == nil {
				t.Fatalf("scripts/common.sh has no default for %s", c.variable)
			}
			if want := "image: " + c.image + ":" + string(m[1]); !strings.Contains(string(compose), want) {
				t.Errorf("docker-compose.yml has no %q (the suite runs %s)", want, m[1])
			}
		}
	})

	t.Run("valid", func(t *testing.T) {
		client := composeClient(t)
		config := func(env ...string) (string, error) {
			args := append(client[1:], "-f", file, "--project-directory", root, "config", "-q")
			cmd := exec.Command(client[0], args...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		secrets := []string{"XERO_CLIENT_ID=id", "XERO_CLIENT_SECRET=secret", "XERO_REFRESH_TOKEN=token", "XERO_STATE_KEY=key"}
		if out, err := config(secrets...); err != nil {
			t.Errorf("%s config: %v\n%s", strings.Join(client, " "), err, out)
		}
		// Without the secrets (cleared: they may be set in the caller's environment).
		cleared := []string{"XERO_CLIENT_ID=", "XERO_CLIENT_SECRET=", "XERO_REFRESH_TOKEN=", "XERO_STATE_KEY="}
		out, err := config(cleared...)
		if err == nil || !strings.Contains(out, "XERO_CLIENT_ID") {
			t.Errorf("%s config without XERO_CLIENT_ID: %v, %q; want an error naming it", strings.Join(client, " "), err, out)
		}
	})
}
