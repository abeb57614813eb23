package dev.sqlservice.codegen;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files Flyway can find under one location, for {@link MigrationRun#migrationsVersion()}: each file's path
 * relative to the location and the SHA-256 of its bytes. Absolute paths and class path entries are left out, so a
 * moved project, or the same migrations jar in another local repository, hashes the same.
 *
 * <p>Thread-safe: it holds no state.
 */
final class MigrationFiles {

    /** A location prefix Flyway knows but this class cannot read (cloud storage): hashed, it would go stale. */
    private static final Pattern OTHER_PREFIX = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:.*");

    private MigrationFiles() {}

    /**
     * The files under {@code location}: relative path (with {@code /}) to the content hashes of the files found
     * at that path (more than one when two class path entries hold the same path), both sorted.
     *
     * @param configured the location as configured, for messages
     * @param resolved the location with a {@code filesystem:} path made absolute
     * @param loader where {@code classpath:} locations (and locations without a prefix) are looked up
     * @throws IllegalStateException if the location cannot be hashed (see {@link MigrationRun#migrationsVersion()})
     */
    static SortedMap<String, List<String>> of(String configured, String resolved, ClassLoader loader)
            throws IOException {
        SortedMap<String, List<String>> files = new TreeMap<>();
        if (resolved.startsWith("filesystem:")) {
            Path root = Path.of(literalPrefix(resolved.substring("filesystem:".length()), configured));
            directory(root, files);
        } else if (resolved.startsWith("classpath:") || !OTHER_PREFIX.matcher(resolved).matches()) {
            String path = resolved.startsWith("classpath:") ? resolved.substring("classpath:".length()) : resolved;
            path = literalPrefix(path.replaceAll("^/+", "").replaceAll("/+$", ""), configured);
            if (path.isEmpty()) {
                throw new IllegalStateException("the location " + configured + " is the whole class path: "
                        + MigrationsVersion.class.getSimpleName() + " cannot hash it; name the folder the"
                        + " migrations are in (classpath:db/migration)");
            }
            for (URL url : Collections.list(loader.getResources(path))) {
                switch (url.getProtocol()) {
                    case "file" -> directory(toPath(url), files);
                    case "jar" -> jar(url, files);
                    default -> throw new IllegalStateException("the location " + configured + " is found in " + url
                            + ", which is neither a directory nor a jar: "
                            + MigrationsVersion.class.getSimpleName() + " cannot hash it");
                }
            }
        } else {
            throw new IllegalStateException("the location " + configured + " is neither filesystem: nor classpath:: "
                    + MigrationsVersion.class.getSimpleName() + " cannot hash it, and a version that ignored it"
                    + " would keep stale generated classes; leave " + MigrationsVersion.class.getSimpleName()
                    + " out of the configuration to generate every time");
        }
        files.values().forEach(Collections::sort);
        return files;
    }

    /**
     * The path up to (without) its first segment with a Flyway wildcard ({@code *}, {@code **}, {@code ?}): the
     * folder that holds every file the location can match. {@code configured} only names it in a message.
     */
    private static String literalPrefix(String path, String configured) {
        int wildcard = indexOfWildcard(path);
        if (wildcard < 0) {
            return path;
        }
        int slash = Math.max(path.lastIndexOf('/', wildcard), path.lastIndexOf(java.io.File.separatorChar, wildcard));
        if (slash < 0) {
            throw new IllegalStateException("the location " + configured + " starts with a wildcard: "
                    + MigrationsVersion.class.getSimpleName() + " cannot hash it; name the folder it is under");
        }
        return path.substring(0, slash);
    }

    private static int indexOfWildcard(String path) {
        int star = path.indexOf('*');
        int question = path.indexOf('?');
        return star < 0 ? question : question < 0 ? star : Math.min(star, question);
    }

    private static Path toPath(URL url) {
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("not a file URL: " + url, e);
        }
    }

    /** Every regular file under {@code root}, following symbolic links as Flyway does; nothing if it is absent. */
    private static void directory(Path root, SortedMap<String, List<String>> files) throws IOException {
        if (!Files.isDirectory(root)) {
            return; // Flyway fails on a missing location (failOnMissingLocations); nothing to hash
        }
        try (Stream<Path> walk = Files.walk(root, FileVisitOption.FOLLOW_LINKS)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                String relative = root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
                add(files, relative, Files.readAllBytes(file));
            }
        }
    }

    /** Every file entry of the jar under the folder the URL names ({@code jar:file:/x.jar!/db/migration}). */
    private static void jar(URL url, SortedMap<String, List<String>> files) throws IOException {
        URLConnection connection = url.openConnection();
        if (!(connection instanceof JarURLConnection jarConnection)) {
            throw new IllegalStateException("not a jar: " + url);
        }
        jarConnection.setUseCaches(false); // a fresh JarFile, closed here: a rebuilt jar is read anew
        String folder = jarConnection.getEntryName() == null ? "" : jarConnection.getEntryName();
        String prefix = folder.isEmpty() || folder.endsWith("/") ? folder : folder + "/";
        try (JarFile jar = jarConnection.getJarFile()) {
            List<JarEntry> entries = new ArrayList<>();
            for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                JarEntry entry = e.nextElement();
                if (!entry.isDirectory() && entry.getName().startsWith(prefix)) {
                    entries.add(entry);
                }
            }
            for (JarEntry entry : entries) {
                try (InputStream in = jar.getInputStream(entry)) {
                    add(files, entry.getName().substring(prefix.length()), in.readAllBytes());
                }
            }
        }
    }

    private static void add(SortedMap<String, List<String>> files, String relative, byte[] content) {
        try {
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
            files.computeIfAbsent(relative, k -> new ArrayList<>()).add(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
