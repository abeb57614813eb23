package dev.sqlservice.bench;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Starts the suite in a child JVM whose class path the build cannot pull away, with JMH's generated classes.
 *
 * <ul>
 *   <li><b>A private copy of the class path's directories</b> ({@code target/classes}, {@code target/test-classes})
 *       in a temporary directory, deleted at the end: a build running in the same working tree while the suite runs (they do, on
 *       this shared machine) deletes and rewrites those directories, and a JMH fork started at that moment fails
 *       with {@code ClassNotFoundException}. The child and every JMH fork it starts use the copy.
 *   <li><b>JMH's generated classes</b>: JMH finds benchmarks through {@code META-INF/BenchmarkList}, written by its
 *       annotation processor. Since JDK 23 javac runs processors found on the class path only when asked
 *       ({@code -proc:full}), and this project's compiler configuration does not ask, so {@code ./mvnw
 *       test-compile} on JDK 23+ generates nothing. When the list is missing, the benchmark sources are compiled
 *       here with JMH's processor named explicitly, into that temporary directory, first on the child's class
 *       path. (The durable fix is {@code <proc>full</proc>} in the compiler plugin's configuration.)
 * </ul>
 */
final class Relaunch {

    static final String CHILD = "bench.child";

    /** True in the child JVM. */
    static boolean inChild() {
        return Boolean.getBoolean(CHILD);
    }

    /** Prepares the class path copy (and JMH's classes), runs BenchMain in a child JVM and returns its exit code. */
    static int run(Path out, String[] args) throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("sqlservice-bench-");
        try {
            return run(out, work, args);
        } finally {
            deleteRecursively(work);
        }
    }

    private static int run(Path out, Path work, String[] args) throws IOException, InterruptedException {
        List<String> classPath = snapshot(work.resolve("classpath"));
        if (classPath.stream().noneMatch(e -> Files.exists(Path.of(e, "META-INF", "BenchmarkList")))) {
            classPath.addFirst(compileWithJmh(out, work, String.join(File.pathSeparator, classPath)).toString());
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-D" + CHILD + "=true");
        command.add("-classpath");
        command.add(String.join(File.pathSeparator, classPath));
        command.add(BenchMain.class.getName());
        command.addAll(List.of(args));
        Process child = new ProcessBuilder(command).inheritIO().start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (child.isAlive()) {
                child.destroy();
            }
        }));
        return child.waitFor();
    }

    /** Copies every directory of the class path (jars stay where they are); retries while a build rewrites them. */
    private static List<String> snapshot(Path target) throws IOException, InterruptedException {
        String[] entries = System.getProperty("java.class.path").split(File.pathSeparator);
        for (int attempt = 1; ; attempt++) {
            deleteRecursively(target);
            Files.createDirectories(target);
            List<String> copied = new ArrayList<>();
            for (int i = 0; i < entries.length; i++) {
                Path entry = Path.of(entries[i]);
                if (Files.isDirectory(entry)) {
                    Path copy = target.resolve(i + "-" + entry.getFileName());
                    copyRecursively(entry, copy);
                    copied.add(copy.toString());
                } else {
                    copied.add(entries[i]);
                }
            }
            boolean complete = copied.stream().anyMatch(e -> Files.exists(Path.of(e, "dev/sqlservice/Database.class")))
                    && copied.stream().anyMatch(e -> Files.exists(Path.of(e,
                            BenchMain.class.getName().replace('.', '/') + ".class")));
            if (complete) {
                return copied;
            }
            if (attempt == 20) {
                throw new IllegalStateException("the compiled classes are missing from " + String.join(", ", entries)
                        + " (is a concurrent build rewriting them?)");
            }
            System.out.println("[bench] the class path is being rewritten by another build; retrying in 3 s");
            Thread.sleep(3_000);
        }
    }

    private static Path compileWithJmh(Path out, Path work, String classPath) throws IOException {
        Path sources = sourceDirectory(out);
        Path classes = work.resolve("jmh-classes");
        Path generated = work.resolve("jmh-sources");
        Files.createDirectories(classes);
        Files.createDirectories(generated);
        List<String> files;
        try (Stream<Path> list = Files.list(sources)) {
            files = list.filter(p -> p.toString().endsWith(".java")).map(Path::toString).sorted().toList();
        }
        System.out.println("[bench] META-INF/BenchmarkList is not on the class path (javac 23+ runs annotation processors"
                + " only with -proc:full): compiling " + files.size() + " benchmark sources with JMH's processor into "
                + classes);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("no javac in " + System.getProperty("java.home") + "; run on a JDK");
        }
        List<String> options = new ArrayList<>(List.of("-proc:full", "-processor",
                "org.openjdk.jmh.generators.BenchmarkProcessor", "-classpath", classPath, "-d", classes.toString(),
                "-s", generated.toString(), "-implicit:none", "-nowarn", "-Xlint:none"));
        options.addAll(files);
        int status = javac.run(null, null, null, options.toArray(String[]::new));
        if (status != 0 || !Files.exists(classes.resolve("META-INF/BenchmarkList"))) {
            throw new IllegalStateException("compiling the benchmarks with JMH's processor failed (javac exit " + status + ")");
        }
        return classes;
    }

    private static Path sourceDirectory(Path out) {
        String relative = "src/test/java/" + BenchMain.class.getPackageName().replace('.', '/');
        List<Path> candidates = new ArrayList<>();
        if (out.getParent() != null && out.getParent().getParent() != null) {
            candidates.add(out.getParent().getParent().resolve(relative)); // <project>/target/bench
        }
        candidates.add(Path.of("").toAbsolutePath().resolve(relative));
        return candidates.stream().filter(Files::isDirectory).findFirst().orElseThrow(() -> new IllegalStateException(
                "cannot find the benchmark sources to compile with JMH's processor; looked in " + candidates));
    }

    private static void copyRecursively(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                try {
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(dest);
                    } else {
                        Files.createDirectories(dest.getParent());
                        Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                    }
                } catch (java.nio.file.NoSuchFileException vanished) {
                    // deleted by a concurrent build while we walked; the completeness check catches what matters
                }
            }
        } catch (java.io.UncheckedIOException e) {
            if (!(e.getCause() instanceof java.nio.file.NoSuchFileException)) {
                throw e;
            }
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private Relaunch() {}
}
