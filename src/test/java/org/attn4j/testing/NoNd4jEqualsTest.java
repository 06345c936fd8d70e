package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.LineMap;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.type.TypeMirror;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * Keeps JUnit's object equality off ND4J arrays in the test sources. {@code INDArray.equals} is
 * {@code equalsWithEps(other, 1e-5)}, so {@code assertEquals(a, b)} on two arrays (or on maps, lists or arrays of
 * them) passes for arrays that differ by up to 1e-5 absolute or relative: a test that means "the same bits" must
 * say so with {@link Exact#assertSameBits}, and one that means a tolerance must state it ({@link Exact#assertCloseToScale}).
 */
class NoNd4jEqualsTest {
    private static final Set<String> OBJECT_ASSERTIONS = Set.of("assertEquals", "assertNotEquals",
            "assertArrayEquals", "assertIterableEquals");

    @Test
    void noTestComparesNd4jArraysWithObjectEquality() throws IOException {
        List<Path> sources;
        try (Stream<Path> s = Files.walk(Path.of("src/test/java"))) {
            sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> offenders = new ArrayList<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, null)) {
            Iterable<? extends JavaFileObject> units = files.getJavaFileObjectsFromPaths(sources);
            List<String> options = List.of("-proc:none", "--add-modules", "jdk.incubator.vector", "-classpath",
                    System.getProperty("java.class.path"));
            JavacTask task = (JavacTask) javac.getTask(null, files, d -> { }, options, null, units);
            Iterable<? extends CompilationUnitTree> trees = task.parse();
            task.analyze();
            Trees types = Trees.instance(task);
            TypeMirror array = task.getElements().getTypeElement("org.nd4j.linalg.api.ndarray.INDArray").asType();
            for (CompilationUnitTree unit : trees) {
                new TreePathScanner<Void, Void>() {
                    @Override
                    public Void visitMethodInvocation(MethodInvocationTree call, Void unused) {
                        Element m = types.getElement(getCurrentPath());
                        if (m instanceof ExecutableElement method && OBJECT_ASSERTIONS.contains(method.getSimpleName().toString())
                                && ((TypeElement) method.getEnclosingElement()).getQualifiedName().contentEquals("org.junit.jupiter.api.Assertions")
                                && call.getArguments().size() >= 2) {
                            for (ExpressionTree arg : call.getArguments().subList(0, 2)) {
                                TypeMirror t = types.getTypeMirror(new TreePath(getCurrentPath(), arg));
                                if (t != null && (task.getTypes().isAssignable(t, array) || t.toString().contains("INDArray"))) {
                                    LineMap lines = unit.getLineMap();
                                    offenders.add(Path.of(unit.getSourceFile().toUri()).getFileName() + ":"
                                            + lines.getLineNumber(types.getSourcePositions().getStartPosition(unit, call))
                                            + " " + method.getSimpleName() + " on " + t);
                                    break;
                                }
                            }
                        }
                        return super.visitMethodInvocation(call, unused);
                    }
                }.scan(unit, null);
            }
        }
        assertTrue(offenders.isEmpty(), offenders.size() + " assertions compare INDArrays with INDArray.equals (1e-5):\n"
                + String.join("\n", offenders));
    }
}
