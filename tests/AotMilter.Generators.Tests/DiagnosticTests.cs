using Microsoft.CodeAnalysis;

namespace AotMilter.Generators.Tests;

/// <summary>One broken filter per diagnostic: exactly that ID is reported, and nothing else fails.</summary>
public class DiagnosticTests
{
    private const string Usings = """
        using System;
        using System.Threading.Tasks;
        using AotMilter;

        namespace Broken;

        """;

    [Theory]
    [InlineData("Bad Name")]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("Upper")]
    [InlineData("-dash")]
    [InlineData("dot.ted")]
    [InlineData("ünicode")]
    public void AOTM001_is_reported_for_an_invalid_filter_name(string name)
    {
        Diagnostic d = AssertOnly("AOTM001", $$"""
            [Milter("{{name}}")]
            public sealed class Named
            {
                [OnEndOfMessage]
                public Verdict Done() => Verdict.Accept;
            }
            """);

        Assert.Contains($"'{name}'", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("Broken.Named", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void AOTM001_is_reported_for_a_null_filter_name()
        => AssertOnly("AOTM001", """
            [Milter(null!)]
            public sealed class Named
            {
            }
            """);

    [Fact]
    public void AOTM002_is_reported_for_two_filters_with_one_name_in_a_compilation()
    {
        GeneratorRun run = RunBroken("""
            [Milter("same")]
            public sealed class First
            {
            }

            [Milter("same")]
            public sealed class Second
            {
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM002");

        Assert.Equal("Filter name 'same' is used by both 'Broken.First' and 'Broken.Second'", d.GetMessage());
        Assert.Contains("Create_Broken_First()", run.Source("MilterCatalog.g.cs"), StringComparison.Ordinal);
        Assert.DoesNotContain("Create_Broken_Second()", run.Source("MilterCatalog.g.cs"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public abstract class Shape", "abstract")]
    [InlineData("public sealed class Shape<T>", "generic")]
    [InlineData("public static class Shape", "static")]
    [InlineData("file sealed class Shape", "file-local")]
    [InlineData("public class Outer<T> { [Milter(\"x\")] public sealed class Shape { } }\npublic class Unused", "nested in the generic type 'Broken.Outer<T>'")]
    [InlineData("public class Outer { [Milter(\"x\")] private sealed class Shape { } }\npublic class Unused", "private")]
    [InlineData("public class Outer { private class Middle { [Milter(\"x\")] public sealed class Shape { } } }\npublic class Unused", "nested in 'Broken.Outer.Middle', which is private")]
    public void AOTM003_is_reported_for_a_filter_class_the_dispatcher_cannot_create(string declaration, string reason)
    {
        string source = declaration.Contains("[Milter", StringComparison.Ordinal)
            ? declaration + " { }"
            : $"[Milter(\"x\")]\n{declaration}\n{{\n}}";

        Diagnostic d = AssertOnly("AOTM003", source);

        Assert.Contains("Shape", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains(reason, d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public Creator(int seed) { }")]
    [InlineData("private Creator() { }")]
    [InlineData("protected Creator() { }")]
    public void AOTM004_is_reported_for_a_filter_class_without_an_accessible_parameterless_constructor(string constructor)
    {
        Diagnostic d = AssertOnly("AOTM004", $$"""
            [Milter("creator")]
            public class Creator
            {
                {{constructor}}
            }
            """);

        Assert.Contains("'Broken.Creator'", d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_constructor_with_only_optional_parameters_is_enough()
    {
        GeneratorRun run = RunBroken("""
            [Milter("creator")]
            public sealed class Creator
            {
                public Creator(int seed = 1, params string[] rest) { }
            }
            """);

        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData("OnHelo", "int length", "'length'", "'int'", "MilterContext, ReadOnlySpan<byte>, string")]
    [InlineData("OnHeader", "string header", "'header'", "'string'", "MilterContext, HeaderField")]
    [InlineData("OnHeader", "EnvelopeAddress address", "'address'", "'EnvelopeAddress'", "MilterContext, HeaderField")]
    [InlineData("OnData", "ReadOnlySpan<byte> bytes", "'bytes'", "'ReadOnlySpan<byte>'", "allowed types: MilterContext")]
    [InlineData("OnConnect", "ref MilterContext context", "'context'", "'ref MilterContext'", "MilterContext, ConnectInfo")]
    [InlineData("OnBody", "ReadOnlySpan<char> text", "'text'", "'ReadOnlySpan<char>'", "MilterContext, ReadOnlySpan<byte>")]
    [InlineData("OnMailFrom", "MessageEditor editor", "'editor'", "'MessageEditor'", "MilterContext, EnvelopeAddress, string")]
    public void AOTM005_is_reported_for_a_parameter_the_callback_cannot_bind(string attribute, string parameter, params string[] expected)
    {
        Diagnostic d = AssertOnly("AOTM005", $$"""
            [Milter("params")]
            public sealed class Params
            {
                [{{attribute}}]
                public Verdict Handle(MilterContext? unused, {{parameter}}) => Verdict.Continue;
            }
            """.Replace("MilterContext? unused, ref MilterContext", "ref MilterContext", StringComparison.Ordinal));

        foreach (string text in expected)
        {
            Assert.Contains(text, d.GetMessage(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("OnAbort", "Verdict", "Verdict.Continue", "must return void or ValueTask")]
    [InlineData("OnClose", "ValueTask<Verdict>", "default", "must return void or ValueTask")]
    [InlineData("OnHelo", "int", "0", "must return Verdict, void, ValueTask<Verdict> or ValueTask")]
    [InlineData("OnData", "Task<Verdict>", "Task.FromResult(Verdict.Continue)", "must return Verdict, void, ValueTask<Verdict> or ValueTask")]
    [InlineData("OnData", "Task", "Task.CompletedTask", "must return Verdict, void, ValueTask<Verdict> or ValueTask")]
    [InlineData("OnEndOfMessage", "VerdictKind", "VerdictKind.Accept", "must return Verdict, void, ValueTask<Verdict> or ValueTask")]
    [InlineData("OnHeader", "async void", "await Task.Yield()", "must return Verdict, void, ValueTask<Verdict> or ValueTask")]
    public void AOTM006_is_reported_for_an_unsupported_return_type(string attribute, string returnType, string value, string expected)
    {
        Diagnostic d = AssertOnly("AOTM006", $$"""
            [Milter("returns")]
            public sealed class Returns
            {
                [{{attribute}}]
                public {{returnType}} Handle() => {{value}};
            }
            """);

        Assert.Contains($"returns '{returnType}'", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains(expected, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void AOTM007_is_reported_for_two_methods_for_one_callback()
    {
        Diagnostic d = AssertOnly("AOTM007", """
            [Milter("twice")]
            public sealed class Twice
            {
                [OnHeader]
                public void First(HeaderField header) { }

                [OnHeader]
                public void Second(MilterContext context) { }
            }
            """);

        Assert.Equal("Filter class 'Broken.Twice' has two [OnHeader] callbacks: 'First' and 'Second'", d.GetMessage());
    }

    [Theory]
    [InlineData("private void Handle() { }\n    public void Use() => Handle();", "private")]
    [InlineData("protected void Handle() { }", "protected")]
    [InlineData("private protected void Handle() { }", "private protected")]
    [InlineData("public static void Handle() { }", "static")]
    [InlineData("public void Handle<T>() { }", "generic")]
    [InlineData("public void Use() { Handle(); [OnData] void Handle() { } }", "a local function")]
    public void AOTM008_is_reported_for_a_callback_the_dispatcher_cannot_call(string method, string reason)
    {
        Diagnostic d = AssertOnly("AOTM008", $$"""
            [Milter("hidden")]
            public class Hidden
            {
                {{(method.Contains("[OnData]", StringComparison.Ordinal) ? "" : "[OnData]")}}
                {{method}}
            }
            """);

        Assert.Contains("'Handle'", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains(reason, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void AOTM009_is_reported_for_a_callback_attribute_in_a_class_without_Milter()
    {
        Diagnostic d = AssertOnly("AOTM009", """
            public sealed class Forgotten
            {
                [OnConnect]
                public Verdict Connect(ConnectInfo info) => Verdict.Continue;
            }
            """);

        Assert.Equal("Method 'Connect' is marked [OnConnect] but its class 'Broken.Forgotten' has no [Milter] attribute, so it is never called", d.GetMessage());
    }

    [Theory]
    [InlineData("Helpers.Stamp(editor);", "'Helpers.Stamp'")]
    [InlineData("editor.StampExtension();", "'Helpers.StampExtension'")]
    [InlineData("_ = new Holder(editor);", "'new Holder'")]
    [InlineData("Action<MessageEditor> act = Helpers.Stamp; act(editor);", "'Action<MessageEditor>.Invoke'")]
    public void AOTM010_warns_when_the_MessageEditor_leaves_the_filter_class(string statement, string target)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("leaky")]
            public sealed class Leaky
            {
                [OnEndOfMessage]
                public Verdict Done(MessageEditor editor)
                {
                    {{statement}}
                    return Verdict.Accept;
                }
            }

            public static class Helpers
            {
                public static void Stamp(MessageEditor editor) => editor.AddHeader("X", "y");

                public static void StampExtension(this MessageEditor editor) => editor.AddHeader("X", "y");
            }

            public sealed class Holder(MessageEditor editor)
            {
                public MessageEditor Editor { get; } = editor;
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM010");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Contains(target, d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("'Broken.Leaky'", d.GetMessage(), StringComparison.Ordinal);

        // A warning: the filter is still generated, with the actions seen inside the class (none here).
        Assert.Contains("(global::AotMilter.Protocol.ActionFlags)0x00000000u", run.Source("Broken.Leaky.Milter.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void AOTM011_is_reported_for_a_parameter_type_bound_twice()
    {
        Diagnostic d = AssertOnly("AOTM011", """
            [Milter("double")]
            public sealed class Double
            {
                [OnHeader]
                public void Header(HeaderField first, MilterContext context, HeaderField second) { }
            }
            """);

        Assert.Equal("[OnHeader] callback 'Header' has two parameters of type 'HeaderField' ('first' and 'second'); each type can be bound once", d.GetMessage());
    }

    [Fact]
    public void Every_diagnostic_ID_has_a_test_and_an_entry_in_the_documentation()
    {
        string docs = File.ReadAllText(Path.Combine(Samples.RepositoryRoot, "docs", "diagnostics.md"));
        string[] tested = [.. typeof(DiagnosticTests).GetMethods().Select(m => m.Name[..Math.Min(7, m.Name.Length)]).Where(n => n.StartsWith("AOTM", StringComparison.Ordinal)).Distinct()];

        for (int i = 1; i <= 11; i++)
        {
            string id = $"AOTM{i:000}";
            Assert.Equal(id, DiagnosticDescriptors.ById(id).Id);
            Assert.Equal("AotMilter", DiagnosticDescriptors.ById(id).Category);
            Assert.Contains(id, tested);
            Assert.Contains($"## {id}", docs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Code_that_does_not_compile_gets_compiler_errors_and_no_generator_noise()
    {
        GeneratorRun run = RunBroken("""
            [Milter("typo")]
            public sealed class Typo
            {
                [OnHeader]
                public Verdikt Header(HeaderFeld header) => default;
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Null(run.Result.Results[0].Exception);
        Assert.DoesNotContain("Broken.Typo.Milter.g.cs", run.HintNames);
    }

    private static GeneratorRun RunBroken(string source)
        => TestCompiler.Run(TestCompiler.CreateCompilation(Usings + source));

    private static Diagnostic AssertOnly(string id, string source) => AssertOnlyId(RunBroken(source), id);

    /// <summary>Asserts that the generator reported exactly one diagnostic, <paramref name="id"/>, and nothing else failed.</summary>
    private static Diagnostic AssertOnlyId(GeneratorRun run, string id)
    {
        Assert.Null(run.Result.Results[0].Exception);
        string[] problems = [.. run.AllProblems.Select(d => $"{d.Id}: {d.GetMessage()}")];
        Assert.True(problems.Length == 1 && problems[0].StartsWith(id + ":", StringComparison.Ordinal), string.Join(Environment.NewLine, problems));
        return Assert.Single(run.GeneratorDiagnostics);
    }
}
