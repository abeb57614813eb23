package dev.sqlservice.codegen;

/**
 * The opt-in container of code generation (property {@code container}), without a compile-time reference to
 * Testcontainers: that is an optional dependency the user adds to the plugin's {@code <dependencies>}, and this
 * class checks for it before {@link ContainerStarter} (which uses it) is loaded.
 */
final class Containers {

    static final String TESTCONTAINERS = "org.testcontainers:testcontainers";
    static final String TESTCONTAINERS_VERSION = "2.0.5";

    /** A started container and the JDBC URL of its server's administration database. */
    record Started(AutoCloseable container, String url) {}

    private Containers() {}

    /** Fails, naming what to add, when Testcontainers is not on the code generator's class path. */
    static void requireTestcontainers(Backend backend, String image, ClassLoader loader) {
        try {
            Class.forName("org.testcontainers.containers.GenericContainer", false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("the property container (" + image + ") runs the migrations in a"
                    + " Testcontainers container, and Testcontainers is not on the code generator's class path: add"
                    + " the dependency " + TESTCONTAINERS + ":" + TESTCONTAINERS_VERSION + " to the <dependencies>"
                    + " of jooq-codegen-maven, next to sqlservice-codegen (or leave out container: "
                    + alternatives(backend) + ")", e);
        }
    }

    /** Starts the image and waits until its server accepts a connection. */
    static Started start(Backend backend, String image) {
        return ContainerStarter.start(backend, image);
    }

    /** Where else the migrations can run, for the messages. */
    static String alternatives(Backend backend) {
        String server = "the property url (or SQLSERVICE_CODEGEN_URL) runs them on an existing " + backend.displayName
                + " server";
        return backend == Backend.POSTGRES ? "without container and url they run on an embedded PostgreSQL 18, the"
                + " default; " + server : server + " (there is no embedded " + backend.displayName + ")";
    }
}
