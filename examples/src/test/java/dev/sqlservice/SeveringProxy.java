package dev.sqlservice;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy (review test helper) that can silently sever the connections open now, while new
 * connections keep working: what a NAT or firewall that drops an established flow's state does. Severed
 * connections stay open on both sides and forward nothing, in either direction.
 */
final class SeveringProxy implements AutoCloseable {

    private final ServerSocket server;
    private final String host;
    private final int port;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private final class Link {
        final Socket client;
        final Socket upstream;
        volatile boolean severed;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void pump(InputStream in, OutputStream out) {
            byte[] buffer = new byte[8192];
            try {
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    while (severed && !closed) {
                        Thread.sleep(50);
                    }
                    if (closed) {
                        return;
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // ends the link
            } finally {
                if (!severed) {
                    close();
                }
            }
        }

        void close() {
            try {
                client.close();
            } catch (IOException ignored) {
                // closing
            }
            try {
                upstream.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    SeveringProxy(String host, int port) throws IOException {
        if (!host.equals("127.0.0.1") && !host.equals("localhost")) {
            throw new IllegalArgumentException("the proxy forwards to 127.0.0.1 only, not to " + host);
        }
        this.host = host;
        this.port = port;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("severing-proxy-accept").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    String proxiedUrl(String jdbcUrl) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(jdbc:[a-z]+://)([^/?;]+)(.*)$").matcher(jdbcUrl);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a jdbc:<driver>://host[:port]/... URL");
        }
        return m.group(1) + "127.0.0.1:" + port() + m.group(3);
    }

    /** Silently severs every connection open now; connections opened later are forwarded normally. */
    void severExisting() {
        for (Link link : links) {
            link.severed = true;
        }
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(host, port);
                Link link = new Link(client, upstream);
                links.add(link);
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        link.pump(client.getInputStream(), upstream.getOutputStream());
                    } catch (IOException e) {
                        link.close();
                    }
                });
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        link.pump(upstream.getInputStream(), client.getOutputStream());
                    } catch (IOException e) {
                        link.close();
                    }
                });
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Link link : links) {
            link.close();
        }
    }
}
