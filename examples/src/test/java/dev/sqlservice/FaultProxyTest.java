package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fault proxy itself, in front of an echo server on loopback (no database). */
@Tag("reliability")
@Timeout(30)
class FaultProxyTest {

    private ServerSocket echo;
    private Thread echoThread;

    @BeforeEach
    void startEcho() throws IOException {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        echoThread = Thread.ofVirtual().start(() -> {
            while (true) {
                Socket s;
                try {
                    s = echo.accept();
                } catch (IOException closed) {
                    return;
                }
                Thread.ofVirtual().start(() -> {
                    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                        in.transferTo(out);
                    } catch (IOException ignored) {
                        // the peer went away
                    }
                });
            }
        });
    }

    @AfterEach
    void stopEcho() throws Exception {
        echo.close();
        echoThread.join(Duration.ofSeconds(5));
    }

    private static String roundTrip(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        byte[] buffer = socket.getInputStream().readNBytes(text.length());
        return new String(buffer, StandardCharsets.UTF_8);
    }

    @Test
    void refuses_any_target_but_loopback() {
        assertThatThrownBy(() -> new FaultProxy("10.0.0.1", 5432)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FaultProxy("example.org", 5432)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FaultProxy("127.0.0.2", 5432)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rewrites_the_host_and_port_of_a_jdbc_url_and_keeps_the_rest() throws Exception {
        try (FaultProxy proxy = new FaultProxy("127.0.0.1", echo.getLocalPort())) {
            assertThat(proxy.proxiedUrl("jdbc:postgresql://localhost:5432/db?user=postgres"))
                    .isEqualTo("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/db?user=postgres");
            assertThat(FaultProxy.hostOf("jdbc:mariadb://127.0.0.1:3306/test")).isEqualTo("127.0.0.1");
            assertThat(FaultProxy.portOf("jdbc:mariadb://127.0.0.1:3306/test")).isEqualTo(3306);
            assertThat(FaultProxy.portOf("jdbc:postgresql://localhost/test")).isEqualTo(5432);
        }
    }

    @Test
    void passes_holds_while_blackholed_delivers_on_heal_delays_and_resets() throws Exception {
        try (FaultProxy proxy = new FaultProxy("127.0.0.1", echo.getLocalPort());
                Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            client.setSoTimeout(3_000);
            assertThat(roundTrip(client, "hello")).isEqualTo("hello");
            // at least this client's (a stray connection of a test running in parallel may be accepted too)
            assertThat(proxy.acceptedConnections()).isGreaterThanOrEqualTo(1);
            assertThat(proxy.openConnectionsFrom(client.getLocalPort())).as("open: %s", proxy.describeOpen()).isEqualTo(1);

            proxy.blackhole();
            client.getOutputStream().write("held".getBytes(StandardCharsets.UTF_8));
            client.setSoTimeout(500);
            assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            try (Socket late = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                late.setSoTimeout(3_000);
                late.getOutputStream().write("late".getBytes(StandardCharsets.UTF_8));
                proxy.heal();
                client.setSoTimeout(3_000);
                assertThat(new String(client.getInputStream().readNBytes(4), StandardCharsets.UTF_8)).isEqualTo("held");
                assertThat(new String(late.getInputStream().readNBytes(4), StandardCharsets.UTF_8))
                        .as("a connection accepted during the blackhole flows after the heal").isEqualTo("late");
            }

            proxy.latency(Duration.ofMillis(200), Duration.ofMillis(100));
            long start = System.nanoTime();
            assertThat(roundTrip(client, "slow")).isEqualTo("slow");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(290), Duration.ofMillis(1_500));
            proxy.heal();

            proxy.reset();
            assertThatThrownBy(() -> {
                client.getOutputStream().write(1);
                client.getInputStream().read();
            }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
            // this test's connections (a stray one of a test running in parallel is not the proxy's to close)
            assertThat(proxy.openConnectionsFrom(client.getLocalPort())).as("open: %s", proxy.describeOpen()).isZero();
        }
    }

    @Test
    void sees_a_client_close_while_blackholed_and_leaves_no_thread_after_close() throws Exception {
        FaultProxy proxy = new FaultProxy("127.0.0.1", echo.getLocalPort());
        int clientPort;
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            clientPort = client.getLocalPort();
            client.setSoTimeout(3_000);
            roundTrip(client, "x");
            proxy.blackhole();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (proxy.closedByClientAmongFirst(1) == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(proxy.closedByClientAmongFirst(1)).isEqualTo(1);
        assertThat(proxy.openConnectionsFrom(clientPort)).as("blackholed: the server side stays open (open: %s)",
                proxy.describeOpen()).isEqualTo(1);
        proxy.close();
        assertThat(proxy.threads()).isZero();
    }

    @Test
    void reset_leaves_no_connection_open_even_while_a_closed_client_is_being_torn_down() throws Exception {
        try (FaultProxy proxy = new FaultProxy("127.0.0.1", echo.getLocalPort())) {
            for (int i = 0; i < 3_000; i++) {
                int clientPort;
                try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                    clientPort = client.getLocalPort();
                    client.setSoTimeout(3_000);
                    roundTrip(client, "x");
                }
                long spin = System.nanoTime() + (i % 50) * 10_000L;
                while (System.nanoTime() < spin) {
                    Thread.onSpinWait();
                }
                proxy.reset();
                // this client's connection, by its port: a stray connection of another test running in parallel
                // (a driver's late cancel or reconnect to a port this proxy took over) is not the proxy's to close
                assertThat(proxy.openConnectionsFrom(clientPort))
                        .as("after reset, iteration %d (open: %s)", i, proxy.describeOpen()).isZero();
            }
        }
    }
}
