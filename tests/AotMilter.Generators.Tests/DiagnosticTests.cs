extern alias Generator;

using Microsoft.CodeAnalysis;
using Generator::AotMilter.Generators;

namespace AotMilter.Generators.Tests;

/// <summary>One broken filter per diagnostic: exactly that ID is reported, and nothing else fails.</summary>
public partial class DiagnosticTests
{
    private const string Usings = """
        using System;
        using System.Runtime.CompilerServices;
        using System.Threading;
        using System.Threading.Tasks;
        using AotMilter;
        using AotMilter.Configuration;

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
    public void AOTM001IsReportedForAnInvalidFilterName(string name)
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
    public void AOTM001IsReportedForANullFilterName()
        => AssertOnly("AOTM001", """
            [Milter(null!)]
            public sealed class Named
            {
            }
            """);

    [Fact]
    public void AOTM002IsReportedForTwoFiltersWithOneNameInACompilation()
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
    public void AOTM003IsReportedForAFilterClassTheDispatcherCannotCreate(string declaration, string reason)
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
    public void AOTM004IsReportedForAFilterClassWithoutAnAccessibleParameterlessConstructor(string constructor)
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
    public void AConstructorWithOnlyOptionalParametersIsEnough()
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
    [InlineData("OnHelo", "int length", "'length'", "'int'", "allowed types: MilterContext, CancellationToken, ReadOnlySpan<byte>, string")]
    [InlineData("OnHeader", "string header", "'header'", "'string'", "allowed types: MilterContext, CancellationToken, HeaderField")]
    [InlineData("OnHeader", "EnvelopeAddress address", "'address'", "'EnvelopeAddress'", "allowed types: MilterContext, CancellationToken, HeaderField")]
    [InlineData("OnData", "ReadOnlySpan<byte> bytes", "'bytes'", "'ReadOnlySpan<byte>'", "allowed types: MilterContext, CancellationToken")]
    [InlineData("OnConnect", "ref MilterContext context", "'context'", "'ref MilterContext'", "allowed types: MilterContext, CancellationToken, ConnectInfo")]
    [InlineData("OnBody", "ReadOnlySpan<char> text", "'text'", "'ReadOnlySpan<char>'", "allowed types: MilterContext, CancellationToken, ReadOnlySpan<byte>")]
    [InlineData("OnMailFrom", "MessageEditor editor", "'editor'", "'MessageEditor'", "allowed types: MilterContext, CancellationToken, EnvelopeAddress, string")]
    [InlineData("OnData", "CancellationToken? token", "'token'", "'CancellationToken?'", "allowed types: MilterContext, CancellationToken")]
    [InlineData("OnEndOfHeaders", "in CancellationToken token", "'token'", "'in CancellationToken'", "allowed types: MilterContext, CancellationToken")]
    [InlineData("OnEndOfMessage", "CancellationTokenSource source", "'source'", "'CancellationTokenSource'", "allowed types: MilterContext, CancellationToken, MessageEditor")]
    public void AOTM005IsReportedForAParameterTheCallbackCannotBind(string attribute, string parameter, params string[] expected)
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
    public void AOTM006IsReportedForAnUnsupportedReturnType(string attribute, string returnType, string value, string expected)
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
    public void AOTM007IsReportedForTwoMethodsForOneCallback()
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
    public void AOTM008IsReportedForACallbackTheDispatcherCannotCall(string method, string reason)
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
    public void AOTM009IsReportedForACallbackAttributeInAClassWithoutMilter()
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
    public void AOTM010WarnsWhenTheMessageEditorLeavesTheFilterClass(string statement, string target)
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
    public void AOTM011IsReportedForAParameterTypeBoundTwice()
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
    public void AOTM011IsReportedForASecondCancellationToken()
    {
        Diagnostic d = AssertOnly("AOTM011", """
            [Milter("tokens")]
            public sealed class Tokens
            {
                [OnRcptTo]
                public ValueTask<Verdict> Rcpt(CancellationToken aborted, string recipient, CancellationToken again) => default;
            }
            """);

        Assert.Equal("[OnRcptTo] callback 'Rcpt' has two parameters of type 'CancellationToken' ('aborted' and 'again'); each type can be bound once", d.GetMessage());
    }

    [Theory]
    [InlineData("public Creator(Settings settings, int seed) { }", "")]
    [InlineData("public Creator(Settings settings) { }\n    public Creator(OtherSettings settings) { }", "it has 2 settings constructors (Settings, OtherSettings), keep one")]
    [InlineData("public Creator(NotSettings settings) { }", "")]
    public void AOTM004IsReportedForConstructorsThatTakeMoreThanTheFilterSettings(string constructors, string detail)
    {
        Diagnostic d = AssertOnly("AOTM004", $$"""
            public sealed class Settings : IFilterSettings<Settings>
            {
                public static Settings Parse(ConfigSection section) => new();
            }

            public sealed class OtherSettings : IFilterSettings<OtherSettings>
            {
                public static OtherSettings Parse(ConfigSection section) => new();
            }

            public sealed class NotSettings : IFilterSettings<Settings>
            {
                public static Settings Parse(ConfigSection section) => new();
            }

            [Milter("creator")]
            public sealed class Creator
            {
                {{constructors}}
            }
            """);

        Assert.Contains("no arguments, or one that takes only its settings (a type T implementing IFilterSettings<T>)", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains(detail, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void AOTM005InAnAsyncCallbackListsOnlyTheTypesAnAsyncMethodCanTake()
    {
        Diagnostic d = AssertOnly("AOTM005", """
            [Milter("params")]
            public sealed class Params
            {
                [OnMailFrom]
                public ValueTask<Verdict> Mail(int size) => default;
            }
            """);

        Assert.EndsWith("allowed types: MilterContext, CancellationToken, string", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OnHelo", "ValueTask<Verdict>", "ReadOnlySpan<byte> name", "take 'string' instead (the HELO name), or copy the data in a synchronous callback")]
    [InlineData("OnRcptTo", "ValueTask", "EnvelopeAddress recipient", "take 'string' instead (the address without angle brackets)")]
    [InlineData("OnUnknown", "ValueTask", "ReadOnlySpan<byte> line", "take 'string' instead (the command line)")]
    [InlineData("OnConnect", "ValueTask<Verdict>", "ConnectInfo info", "copy the data you need in a synchronous callback")]
    [InlineData("OnHeader", "ValueTask", "HeaderField header", "copy the data you need in a synchronous callback")]
    [InlineData("OnBody", "ValueTask<Verdict>", "ReadOnlySpan<byte> chunk", "copy the data you need in a synchronous callback")]
    [InlineData("OnEndOfMessage", "ValueTask<Verdict>", "[Macro(\"i\")] ReadOnlySpan<byte> queueId", "take the macro as 'string?' instead")]
    public void AOTM012IsReportedForASpanParameterOfAnAsyncCallback(string attribute, string returnType, string parameter, string advice)
    {
        Diagnostic d = AssertOnly("AOTM012", $$"""
            [Milter("spans")]
            public sealed class Spans
            {
                [{{attribute}}]
                public {{returnType}} Handle(MilterContext context, {{parameter}}) => default;
            }
            """);

        Assert.Contains("which returns a ValueTask: spans point into the receive buffer and are gone at the first await; " + advice, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void AOTM012IsReportedBesideTheCompilerErrorForAnAsyncMethodWithASpanParameter()
    {
        GeneratorRun run = RunBroken("""
            [Milter("spans")]
            public sealed class Spans
            {
                [OnHelo]
                public async ValueTask<Verdict> Helo(ReadOnlySpan<byte> name)
                {
                    await Task.Yield();
                    return Verdict.Continue;
                }
            }
            """);

        Assert.Equal(["AOTM012", "CS4012"], run.AllProblems.Select(d => d.Id).Distinct().Order(StringComparer.Ordinal));
        Assert.DoesNotContain("Broken.Spans.Milter.g.cs", run.HintNames);
    }

    [Theory]
    [InlineData("ValueTask<Verdict>", "return Verdict.Continue;", "PoolingAsyncValueTaskMethodBuilder<>")]
    [InlineData("ValueTask", "", "PoolingAsyncValueTaskMethodBuilder")]
    public void AOTM013SuggestsThePoolingBuilderForAnAsyncCallback(string returnType, string returnStatement, string builder)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("slow")]
            public sealed class Slow
            {
                [OnData]
                public async {{returnType}} Data()
                {
                    await Task.Delay(1);
                    {{returnStatement}}
                }
            }
            """);

        Assert.Empty(run.AllProblems);
        Diagnostic d = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("AOTM013", d.Id);
        Assert.Equal(DiagnosticSeverity.Info, d.Severity);
        Assert.Equal($"Callback 'Data' is async: add [AsyncMethodBuilder(typeof({builder}))] so that a call which awaits reuses a pooled state machine instead of allocating one", d.GetMessage());
        Assert.Contains("Broken.Slow.Milter.g.cs", run.HintNames);
    }

    [Fact]
    public void AOTM013IsNotReportedWithThePoolingBuilderOrWithoutTheAsyncKeyword()
    {
        GeneratorRun run = RunBroken("""
            [Milter("fast")]
            public sealed class Fast
            {
                [OnData]
                [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
                public async ValueTask<Verdict> Data()
                {
                    await Task.Delay(1);
                    return Verdict.Continue;
                }

                [OnEndOfHeaders]
                public ValueTask EndOfHeaders() => default;
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData("OnConnect", "void", "[Macro(\"j\")] int host", "'int'", "'ReadOnlySpan<byte>' (empty when absent) or 'string?' (null when absent)")]
    [InlineData("OnMailFrom", "void", "[Macro(\"i\")] ReadOnlySpan<char> id", "'ReadOnlySpan<char>'", "'ReadOnlySpan<byte>' (empty when absent) or 'string?'")]
    [InlineData("OnHelo", "void", "[Macro(\"j\")] MilterContext context", "'MilterContext'", "'ReadOnlySpan<byte>' (empty when absent) or 'string?'")]
    [InlineData("OnHelo", "void", "[Macro(\"j\")] ref string host", "'ref string'", "'ReadOnlySpan<byte>' (empty when absent) or 'string?'")]
    [InlineData("OnData", "ValueTask", "[Macro(\"i\")] byte[] id", "'byte[]'", "'string?' (null when absent) in an async callback")]
    public void AOTM014IsReportedForAMacroParameterOfAnotherType(string attribute, string returnType, string parameter, string type, string allowed)
    {
        Diagnostic d = AssertOnly("AOTM014", $$"""
            [Milter("macros")]
            public sealed class Macros
            {
                [{{attribute}}]
                public {{returnType}} Handle({{parameter}}) => {{(returnType == "void" ? "Console.WriteLine()" : "default")}};
            }
            """);

        Assert.Contains($"has type {type}", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("a macro value is bound to " + allowed, d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OnUnknown", "unknown commands")]
    [InlineData("OnAbort", "an abort")]
    [InlineData("OnClose", "the end of a connection")]
    public void AOTM015IsReportedForAMacroInACallbackWithoutAMacroStage(string attribute, string stage)
    {
        Diagnostic d = AssertOnly("AOTM015", $$"""
            [Milter("late")]
            public sealed class Late
            {
                [{{attribute}}]
                public void Handle([Macro("auth_authen")] string? user) { }
            }
            """);

        Assert.Equal($"[{attribute}] callback 'Handle' reads macro '{{auth_authen}}', but MTAs send no macros for {stage}; read it in an earlier callback and keep it in a field", d.GetMessage());
    }

    [Theory]
    [InlineData("i", "{i}", "i")]
    [InlineData("auth_authen", "{auth_authen}", "{auth_authen}")]
    public void AOTM016IsReportedForOneMacroReadTwice(string first, string second, string normalised)
    {
        Diagnostic d = AssertOnly("AOTM016", $$"""
            [Milter("twice")]
            public sealed class Twice
            {
                [OnEndOfMessage]
                public void Done([Macro("{{first}}")] string? a, MilterContext context, [Macro("{{second}}")] ReadOnlySpan<byte> b) { }
            }
            """);

        Assert.Equal($"[OnEndOfMessage] callback 'Done' reads macro '{normalised}' twice ('a' and 'b'); bind it once", d.GetMessage());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("auth authen")]
    [InlineData("{a{b}")]
    [InlineData("ünicode")]
    [InlineData("tab\\there")]
    public void AOTM017IsReportedForAnInvalidMacroName(string name)
    {
        Diagnostic d = AssertOnly("AOTM017", $$"""
            [Milter("names")]
            public sealed class Names
            {
                [OnConnect]
                public void Connect([Macro("{{name}}")] string? value) { }
            }
            """);

        Assert.Contains("on parameter 'value' of 'Connect' is invalid", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OnConnect", "i", "i", "MAIL FROM")]
    [InlineData("OnHelo", "i", "i", "MAIL FROM")]
    [InlineData("OnHelo", "auth_authen", "{auth_authen}", "MAIL FROM")]
    [InlineData("OnConnect", "{mail_addr}", "{mail_addr}", "MAIL FROM")]
    [InlineData("OnMailFrom", "rcpt_addr", "{rcpt_addr}", "RCPT TO")]
    [InlineData("OnHelo", "{rcpt_mailer}", "{rcpt_mailer}", "RCPT TO")]
    [InlineData("OnHeader", "msg_id", "{msg_id}", "end of message")]
    [InlineData("OnBody", "{msg_id}", "{msg_id}", "end of message")]
    public void AOTM018WarnsAboutAMacroReadBeforeAnyMTADefinesIt(string attribute, string name, string normalised, string earliest)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("early")]
            public sealed class Early
            {
                [{{attribute}}]
                public void Handle([Macro("{{name}}")] string? value) { }
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM018");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.StartsWith($"[{attribute}] callback 'Handle' reads macro '{normalised}', which no MTA defines before {earliest} (", d.GetMessage(), StringComparison.Ordinal);

        // A warning: the filter is generated and still asks for the macro.
        Assert.Contains($"[{SymbolDisplay(normalised)}]", run.Source("Broken.Early.Milter.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void MacrosReadAtOrAfterTheStageThatDefinesThemAreNotWarnedAbout()
    {
        GeneratorRun run = RunBroken("""
            [Milter("timely")]
            public sealed class Timely
            {
                [OnConnect]
                public void Connect([Macro("j")] string? host, [Macro("{daemon_name}")] string? daemon, [Macro("tls_version")] string? tls) { }

                [OnMailFrom]
                public void Mail([Macro("auth_type")] string? type, [Macro("mail_addr")] string? from) { }

                [OnData]
                public void Data([Macro("rcpt_addr")] string? lastRecipient) { }

                [OnEndOfMessage]
                public void Done([Macro("msg_id")] string? id, [Macro("{my_own}")] string? custom) { }
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData(
        "[OnMailFrom] public void Handle([Macro(\"i\")] string? value) { }",
        "[OnMailFrom] callback 'Handle' reads macro 'i', which Sendmail sends by then but Postfix does not: Postfix has no queue id until it has accepted a recipient, so 'i' is empty at MAIL FROM and at the first RCPT TO; read it from [OnData] on, or set smtpd_delay_open_until_valid_rcpt = no in Postfix's main.cf")]
    [InlineData(
        "[OnRcptTo] public void Handle(string recipient, [Macro(\"{i}\")] string? value) { }",
        "[OnRcptTo] callback 'Handle' reads macro 'i', which Sendmail sends by then but Postfix does not: Postfix has no queue id until it has accepted a recipient, so 'i' is empty at MAIL FROM and at the first RCPT TO; read it from [OnData] on, or set smtpd_delay_open_until_valid_rcpt = no in Postfix's main.cf")]
    [InlineData(
        "[OnMailFrom] public void Mail([Macro(\"auth_authen\")] string? login) { }\n[OnHeader] public void Handle(HeaderField header, [Macro(\"i\")] ReadOnlySpan<byte> value) { }",
        "[OnHeader] callback 'Handle' reads macro 'i', which Postfix sends by then but Sendmail does not: Sendmail sends the end-of-headers macros only after the last header, and this filter's [OnMailFrom] macros replace Sendmail's default MAIL FROM list, which has it; read it in [OnEndOfHeaders], or bind it in [OnMailFrom] too")]
    [InlineData(
        "[OnMailFrom] public void Mail([Macro(\"auth_type\")] string? type) { }\n[OnBody] public void Handle(ReadOnlySpan<byte> chunk, [Macro(\"mail_addr\")] string? value) { }",
        "[OnBody] callback 'Handle' reads macro '{mail_addr}', which Postfix sends by then but Sendmail does not: Sendmail sends the end-of-message macros only after the last body chunk, and this filter's [OnMailFrom] macros replace Sendmail's default MAIL FROM list, which has it; read it in [OnEndOfMessage], or bind it in [OnMailFrom] too")]
    public void AOTM028WarnsAboutAMacroThatOnlyOneMTASendsByThatStage(string methods, string message)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("lopsided")]
            public sealed class Lopsided
            {
                {{methods}}
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM028");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal(message, d.GetMessage());
        Assert.Equal("value", run.Output.SyntaxTrees.First().GetText().ToString(d.Location.SourceSpan));

        // A warning: the filter is generated and still asks for the macro.
        Assert.Contains("Broken.Lopsided.Milter.g.cs", run.HintNames);
    }

    [Fact]
    public void MacrosThatBothMTAsSendByTheStageOrThatOneMTADoesNotNameAreNotWarnedAbout()
    {
        GeneratorRun run = RunBroken("""
            [Milter("even")]
            public sealed class Even
            {
                [OnConnect]
                public void Connect([Macro("{if_addr}")] string? sendmailOnly, [Macro("v")] string? postfixOnly) { }

                [OnMailFrom]
                public void Mail([Macro("auth_authen")] string? login, [Macro("mail_addr")] string? from) { }

                [OnRcptTo]
                public void Rcpt([Macro("rcpt_addr")] string? recipient) { }

                [OnData]
                public void Data([Macro("i")] string? queueId) { }

                [OnHeader]
                public void Header(HeaderField header, [Macro("mail_addr")] string? from, [Macro("rcpt_addr")] string? lastRecipient) { }

                [OnEndOfHeaders]
                public void Headers([Macro("i")] string? queueId) { }

                [OnEndOfMessage]
                public void Done([Macro("i")] string? queueId, [Macro("msg_id")] string? messageId, [Macro("{my_own}")] string? custom) { }
            }

            [Milter("header-id")]
            public sealed class HeaderId
            {
                // Sendmail has no end-of-headers macros yet, but its default MAIL FROM list, which this filter leaves alone, has 'i'.
                [OnHeader]
                public void Header(HeaderField header, [Macro("i")] string? queueId) { }
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Fact]
    public void AOTM019WarnsAboutRejectedRecipientsWithoutARecipientCallbackAndDropsTheCapability()
    {
        GeneratorRun run = RunBroken("""
            [Milter("norcpt", RejectedRecipients = true, RawHeaderValues = true)]
            public sealed class NoRcpt
            {
                [OnHeader]
                public void Header(HeaderField header) { }
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM019");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal("Filter class 'Broken.NoRcpt' sets RejectedRecipients but has no [OnRcptTo] callback to see them; the capability is not requested", d.GetMessage());
        string source = run.Source("Broken.NoRcpt.Milter.g.cs");
        Assert.DoesNotContain("RejectedRecipients", source, StringComparison.Ordinal);
        Assert.Contains("HeaderLeadingSpace", source, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OnHeader", "public Verdict Handle(HeaderField header) => header.Name.IsEmpty ? Verdict.Skip : Verdict.Continue;")]
    [InlineData("OnRcptTo", "public ValueTask<Verdict> Handle() => new(Verdict.Skip);")]
    [InlineData("OnEndOfHeaders", "public Verdict Handle() { Verdict v = Verdict.Skip; return v; }")]
    public void AOTM020WarnsAboutVerdictSkipOutsideTheBodyCallback(string attribute, string method)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("skipper")]
            public sealed class Skipper
            {
                [{{attribute}}]
                {{method}}
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM020");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal($"[{attribute}] callback 'Handle' uses Verdict.Skip, which only means something for body chunks; elsewhere it is sent as Continue", d.GetMessage());
        Assert.Equal("Verdict.Skip", run.Output.SyntaxTrees.First().GetText().ToString(d.Location.SourceSpan));

        // Only the body's own Skip asks for SMFIP_SKIP.
        Assert.DoesNotContain("| Skip", run.Source("Broken.Skipper.Milter.g.cs"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(
        "[OnHeader] public Verdict Handle(HeaderField header) => Decide(header.Name.IsEmpty);",
        "Decide(header.Name.IsEmpty)",
        "[OnHeader] callback 'Handle' calls 'Decide', which can return Verdict.Skip; Skip only means something for body chunks, elsewhere it is sent as Continue")]
    [InlineData(
        "[OnHelo] public Verdict Handle(string name) { return Local(); Verdict Local() => Decide(name.Length == 0); }",
        "Decide(name.Length == 0)",
        "[OnHelo] callback 'Handle' calls 'Decide', which can return Verdict.Skip; Skip only means something for body chunks, elsewhere it is sent as Continue")]
    [InlineData(
        "[OnRcptTo] public ValueTask<Verdict> Handle(string recipient) => new(Outer(recipient));",
        "Outer(recipient)",
        "[OnRcptTo] callback 'Handle' calls 'Outer', which can return Verdict.Skip (through 'Decide'); Skip only means something for body chunks, elsewhere it is sent as Continue")]
    [InlineData(
        "[OnEndOfMessage] [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] public async ValueTask<Verdict> Handle() => await DecideLaterAsync();",
        "DecideLaterAsync()",
        "[OnEndOfMessage] callback 'Handle' calls 'DecideLaterAsync', which can return Verdict.Skip; Skip only means something for body chunks, elsewhere it is sent as Continue")]
    public void AOTM027WarnsAboutVerdictSkipReturnedThroughAHelperOutsideTheBodyCallback(string callback, string call, string message)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("helped")]
            public sealed class Helped
            {
                {{callback}}

                private static Verdict Decide(bool empty) => empty ? Verdict.Skip : Verdict.Continue;

                private Verdict Outer(string recipient) => recipient.Length > 0 ? Decide(recipient.Length > 10) : Verdict.Reject;

                [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
                private static async ValueTask<Verdict> DecideLaterAsync()
                {
                    await Task.Yield();
                    return Verdict.Skip;
                }
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM027");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal(message, d.GetMessage());
        Assert.Equal(call, run.Output.SyntaxTrees.First().GetText().ToString(d.Location.SourceSpan));
    }

    [Fact]
    public void SkipFromHelpersOfTheBodyCallbackOfObserversOrOfOtherClassesIsNotReported()
    {
        GeneratorRun run = RunBroken("""
            public static class Shared
            {
                public static Verdict Decide(bool skip) => skip ? Verdict.Skip : Verdict.Continue;
            }

            [Milter("helped")]
            public sealed class Helped
            {
                private int _headers;

                [OnBody]
                public Verdict Body(ReadOnlySpan<byte> chunk) => Decide(chunk.IsEmpty);

                [OnHeader]
                public void Header(HeaderField header) => _headers += Decide(header.Name.IsEmpty) == Verdict.Continue ? 1 : 0;

                [OnEndOfHeaders]
                public Verdict Headers() => IsSkip(Shared.Decide(_headers == 0)) ? Verdict.Continue : Limit();

                [OnEndOfMessage]
                public Verdict Done() => Shared.Decide(_headers > 100);

                private static Verdict Decide(bool empty) => empty ? Verdict.Skip : Verdict.Continue;

                private static bool IsSkip(Verdict verdict) => verdict == Verdict.Skip;

                private Verdict Limit() => _headers > 100 ? Verdict.Reject : Verdict.Continue;
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData("OnConnect", "public Verdict Handle(ConnectInfo info) => info.Port == 25 ? Verdict.Discard : Verdict.Continue;")]
    [InlineData("OnHelo", "public ValueTask<Verdict> Handle(string name) => new(name == \"x\" ? Verdict.Discard : Verdict.Continue);")]
    public void AOTM021WarnsAboutVerdictDiscardAtConnectOrHELO(string attribute, string method)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("discarder")]
            public sealed class Discarder
            {
                [{{attribute}}]
                {{method}}

                [OnMailFrom]
                public Verdict Mail() => Verdict.Discard;
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM021");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.StartsWith($"[{attribute}] callback 'Handle' uses Verdict.Discard", d.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SmtpReply.Create(250, \"2.0.0\", \"ok\")", "SMTP reply code 250 is not 4xx or 5xx")]
    [InlineData("SmtpReply.Create(550, \"4.7.1\", \"no\")", "extended status code '4.7.1' does not match the class of reply code 550")]
    [InlineData("SmtpReply.Create(550, \"5.71\", \"no\")", "extended status code '5.71' is not of the form C.SSS.DDD (C = 4 or 5)")]
    [InlineData("SmtpReply.Create(451, null, \"a\\r\\nb\")", "SMTP reply text must not contain CR or LF; pass each line separately")]
    [InlineData("SmtpReply.Create(451, null, new[] { \"a\", \"b\\n\" })", "must not contain CR or LF")]
    [InlineData("SmtpReply.Create(451, null, [\"a\", \"b\\r\"])", "must not contain CR or LF")]
    [InlineData("SmtpReply.Create(550, \"5.7.1\")", "an SMTP reply needs at least one line of text")]
    [InlineData("SmtpReply.Create(550, \"5.7.1\", LONG)", "SMTP reply text is 981 characters; the maximum is 980")]
    [InlineData("SmtpReply.Create(550, \"5.7.1\", LINES33)", "an SMTP reply may have at most 32 lines; this one has 33")]
    [InlineData("SmtpReply.Create(550, \"5.7.1\", LONG, Environment.MachineName)", "SMTP reply text is 981 or more characters; the maximum is 980")]
    [InlineData("SmtpReply.Create(600, Environment.MachineName, Environment.MachineName)", "SMTP reply code 600 is not 4xx or 5xx")]
    [InlineData("SmtpReply.Parse(\"Rejected\")", "'Rejected' is not an SMTP reply: expected \"CODE [X.Y.Z] text\"")]
    [InlineData("SmtpReply.Parse(\"250 2.0.0 fine\")", "SMTP reply code 250 is not 4xx or 5xx")]
    [InlineData("SmtpReply.Parse(\"550 4.7.1 mixed\")", "extended status code '4.7.1' does not match the class of reply code 550")]
    [InlineData("SmtpReply.Parse(\"451 \" + \"x\\ny\")", "must not contain CR or LF")]
    public void AOTM022IsReportedForAConstantReplyLibmilterWouldReject(string expression, string reason)
    {
        string code = expression
            .Replace("LONG", "\"" + new string('x', 981) + "\"", StringComparison.Ordinal)
            .Replace("LINES33", string.Join(", ", Enumerable.Repeat("\"line\"", 33)), StringComparison.Ordinal);
        Diagnostic d = AssertOnly("AOTM022", $$"""
            [Milter("replies")]
            public sealed class Replies
            {
                private static readonly SmtpReply Reply = {{code}};

                [OnRcptTo]
                public Verdict Rcpt(MilterContext context)
                {
                    context.SetReply(Reply);
                    return Verdict.Continue;
                }
            }
            """);

        Assert.StartsWith("This SMTP reply throws at run time: ", d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains(reason, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void RepliesThatAreValidOrNotConstantAreNotReported()
    {
        GeneratorRun run = RunBroken("""
            [Milter("replies")]
            public sealed class Replies
            {
                private const string Text = "Go away";
                private static readonly SmtpReply A = SmtpReply.Create(550, "5.7.1", Text, "and 50% stay away");
                private static readonly SmtpReply B = SmtpReply.Parse("451 4.3.0 Try later");
                private static readonly SmtpReply C = SmtpReply.Parse("550 Just text");
                private static readonly SmtpReply D = SmtpReply.Create(421, null, ["closing", "now"]);

                [OnRcptTo]
                public Verdict Rcpt(string recipient)
                    => recipient == "a" ? Verdict.RejectWith(A)
                        : recipient == "b" ? Verdict.TempFailWith(B)
                        : recipient == "c" ? Verdict.From(SmtpReply.Parse(recipient))
                        : recipient == "d" ? Verdict.TempFailWith(D)
                        : Verdict.RejectWith(SmtpReply.Create(int.Parse(recipient), null, recipient));
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData("Verdict.RejectWith(SmtpReply.Create(451, \"4.7.1\", \"later\"))", "Verdict.RejectWith is given reply code 451, a 4xx reply", "use Verdict.TempFailWith")]
    [InlineData("Verdict.TempFailWith(SmtpReply.Parse(\"554 5.7.1 never\"))", "Verdict.TempFailWith is given reply code 554, a 5xx reply", "use Verdict.RejectWith")]
    [InlineData("Verdict.TempFailWith(Permanent)", "Verdict.TempFailWith is given 'Permanent' (reply code 550), a 5xx reply", "use Verdict.RejectWith")]
    [InlineData("Verdict.RejectWith(Shared.Busy)", "Verdict.RejectWith is given 'Busy' (reply code 421), a 4xx reply", "use Verdict.TempFailWith")]
    public void AOTM023IsReportedForAReplyOfTheWrongClassForTheVerdict(string verdict, string start, string advice)
    {
        Diagnostic d = AssertOnly("AOTM023", $$"""
            public static class Shared
            {
                public static readonly SmtpReply Busy = SmtpReply.Create(421, "4.3.2", "Shutting down");
            }

            [Milter("classes")]
            public sealed class Classes
            {
                private static readonly SmtpReply Permanent = SmtpReply.Create(550, null, "No");

                [OnRcptTo]
                public Verdict Rcpt() => {{verdict}};
            }
            """);

        Assert.StartsWith(start, d.GetMessage(), StringComparison.Ordinal);
        Assert.Contains(advice, d.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void AReplyTheGeneratorCannotFollowIsNotReported()
    {
        GeneratorRun run = RunBroken("""
            [Milter("mutable")]
            public sealed class Mutable
            {
                private static SmtpReply NotReadOnly = SmtpReply.Create(451, null, "later");
                private readonly SmtpReply _instance = SmtpReply.Create(451, null, "later");

                [OnRcptTo]
                public Verdict Rcpt(string recipient) => recipient == "a" ? Verdict.RejectWith(NotReadOnly) : Verdict.RejectWith(_instance);
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData("private static MilterContext? s_last;", "s_last = context;", "MilterContext in static field 's_last'")]
    [InlineData("private static readonly System.Collections.Generic.List<MilterContext> s_all = new();", "s_all.Add(context);", "MilterContext in static field 's_all'")]
    [InlineData("public static MessageEditor? Editor { get; set; }", "Editor = editor;", "MessageEditor in static property 'Editor'")]
    [InlineData("private sealed class Inner { public static MilterContext[] Seen = []; }", "", "MilterContext in static field 'Seen'")]
    [InlineData("", "Audit.Current = context;", "MilterContext in static 'Audit.Current'")]
    [InlineData("", "new Audit().Last = editor;", "MessageEditor in 'Audit.Last'")]
    [InlineData("", "_ = Task.Run(() => context.ConnectionId);", "MilterContext in a delegate given to 'Task.Run', which nobody awaits")]
    [InlineData("", "System.Threading.ThreadPool.QueueUserWorkItem(_ => editor.AddHeader(\"X\", \"y\"));", "MessageEditor in a delegate given to 'ThreadPool.QueueUserWorkItem', which nobody awaits")]
    [InlineData("", "new System.Threading.Thread(() => context.SetReply(SmtpReply.Create(451, null, \"later\"))).Start();", "MilterContext in a delegate given to 'new Thread'")]
    public void AOTM024WarnsWhenAContextOrEditorIsKeptWhereALaterConnectionCanReachIt(string member, string statement, string where)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("keeper")]
            public sealed class Keeper
            {
                {{member}}

                [OnEndOfMessage]
                public Verdict Done(MilterContext context, MessageEditor editor)
                {
                    {{statement}}
                    return Verdict.Accept;
                }
            }

            public sealed class Audit
            {
                public static MilterContext? Current { get; set; }

                public MessageEditor? Last { get; set; }
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM024");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.StartsWith($"Filter class 'Broken.Keeper' keeps its {where}; ", d.GetMessage(), StringComparison.Ordinal);

        // A warning: the filter is still generated.
        Assert.Contains("Broken.Keeper.Milter.g.cs", run.HintNames);
    }

    [Fact]
    public void AContextKeptForTheConnectionOrUsedWhileAwaitedIsNotReported()
    {
        GeneratorRun run = RunBroken("""
            [Milter("careful")]
            public sealed class Careful
            {
                private MilterContext? _context;
                private MessageEditor? _editor;

                [OnConnect]
                public void Connect(MilterContext context) => _context = context;

                [OnEndOfMessage]
                [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
                public async ValueTask<Verdict> Done(MilterContext context, MessageEditor editor)
                {
                    _editor = editor;
                    string? queueId = context.GetMacroString("i");
                    _ = Task.Run(() => queueId?.Length);
                    await Task.Run(() => context.ConnectionId);
                    Task<long> pending = Task.Run(() => context.ConnectionId);
                    await pending;
                    return Verdict.Accept;
                }
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData(
        "private MessageEditor? _editor;",
        "_editor = editor;",
        "[OnClose] public void Close() => _editor?.AddHeader(\"X-Closed\", \"yes\");",
        "uses the MessageEditor kept in '_editor' in [OnClose] callback 'Close'",
        "_editor")]
    [InlineData(
        "public MessageEditor? Editor { get; private set; }",
        "Editor = editor;",
        "[OnAbort] public void Abort() => Editor!.Quarantine(\"aborted\");",
        "uses the MessageEditor kept in 'Editor' in [OnAbort] callback 'Abort'",
        "Editor")]
    [InlineData(
        "private MessageEditor? _editor;",
        "_editor ??= editor;",
        "[OnHeader] public Verdict Header(HeaderField header) { _editor?.AddHeader(\"X-Seen\", header.NameString()); return Verdict.Continue; }",
        "uses the MessageEditor kept in '_editor' in [OnHeader] callback 'Header'",
        "_editor")]
    [InlineData(
        "private MessageEditor[] _editors = [];",
        "_editors = [editor];",
        "[OnClose] public void Close() { foreach (MessageEditor kept in _editors) kept.AddHeader(\"X-Closed\", \"yes\"); }",
        "uses the MessageEditor kept in '_editors' in [OnClose] callback 'Close'",
        "_editors")]
    [InlineData(
        "private readonly MessageEditor _own = new();",
        "_own.AddHeader(\"X-Own\", \"yes\");",
        "",
        "stores a MessageEditor in '_own' in its initializer, outside [OnEndOfMessage]",
        "= new()")]
    [InlineData(
        "private MessageEditor? _editor;",
        "_editor?.AddHeader(\"X-Helo\", \"yes\");",
        "[OnHelo] public void Helo(string name) => _editor = new MessageEditor();",
        "stores a MessageEditor in '_editor' in 'Helo', outside [OnEndOfMessage]",
        "_editor = new MessageEditor()")]
    public void AOTM026WarnsWhenAMessageEditorKeptInAFieldIsUsedOutsideEndOfMessage(string member, string statement, string callback, string what, string at)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("keeper")]
            public sealed class Keeper
            {
                {{member}}

                [OnEndOfMessage]
                public Verdict Done(MessageEditor editor)
                {
                    {{statement}}
                    return Verdict.Accept;
                }

                {{callback}}
            }
            """);
        Diagnostic d = AssertOnlyId(run, "AOTM026");

        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.StartsWith($"Filter class 'Broken.Keeper' {what}: a MessageEditor takes edits only while [OnEndOfMessage] runs, ", d.GetMessage(), StringComparison.Ordinal);
        Assert.Equal(at, run.Output.SyntaxTrees.First().GetText().ToString(d.Location.SourceSpan));
    }

    [Fact]
    public void AnEditorUsedWhileEndOfMessageRunsOrClearedLaterIsNotReported()
    {
        GeneratorRun run = RunBroken("""
            [Milter("careful")]
            public sealed class Careful
            {
                private readonly MessageEditor[] _editors;
                private MessageEditor? _editor;
                private int _headers;

                public Careful() => _editors = new MessageEditor[1];

                [OnHeader]
                public void Header() => _headers++;

                [OnEndOfMessage]
                [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
                public async ValueTask<Verdict> Done(MessageEditor editor)
                {
                    Remember(editor);
                    Stamp(editor);
                    _editors[0] = editor;
                    await Task.Yield();
                    StampKept();
                    return Verdict.Accept;
                }

                [OnAbort]
                public void Abort() => _editor = null;

                [OnClose]
                public void Close()
                {
                    _editor = default;
                    _headers = 0;
                }

                private void Remember(MessageEditor editor) => _editor = editor;

                private void Stamp(MessageEditor editor) => editor.AddHeader("X-Headers", _headers.ToString());

                private void StampKept() => _editor?.AddHeader("X-Later", "yes");
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Theory]
    [InlineData("OnData", "Verdict Data(CancellationToken aborted) => Verdict.Continue;", "Verdict", "_filter.Data(context.CallbackAborted)")]
    [InlineData("OnHeader", "void Header(HeaderField header, CancellationToken token) { }", "void", "_filter.Header(header, context.CallbackAborted)")]
    [InlineData("OnBody", "Verdict Body(CancellationToken token, ReadOnlySpan<byte> chunk) => Verdict.Continue;", "Verdict", "_filter.Body(context.CallbackAborted, chunk)")]
    [InlineData("OnClose", "void Close(MilterContext context, CancellationToken token) { }", "void", "_filter.Close(context, context.CallbackAborted)")]
    public void AOTM025NotesThatTheTokenOfASynchronousCallbackCannotFireWhileItRuns(string attribute, string method, string returned, string call)
    {
        GeneratorRun run = RunBroken($$"""
            [Milter("sync")]
            public sealed class Sync
            {
                [{{attribute}}]
                public {{method}}
            }
            """);

        // An info: the filter is generated, compiles, and the token is passed all the same.
        Assert.Empty(run.AllProblems);
        Diagnostic d = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("AOTM025", d.Id);
        Assert.Equal(DiagnosticSeverity.Info, d.Severity);
        string name = method.Split(' ', '(')[1];
        string parameter = method.Contains("aborted", StringComparison.Ordinal) ? "aborted" : "token";
        Assert.Equal(
            $"[{attribute}] callback '{name}' returns {returned}: its CancellationToken '{parameter}' can only fire while an asynchronous callback is pending, not while this one runs; return a ValueTask to wait with it, or remove the parameter",
            d.GetMessage());
        Assert.Contains(call, run.Source("Broken.Sync.Milter.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void AOTM025IsNotReportedForAsynchronousCallbacks()
    {
        GeneratorRun run = RunBroken("""
            [Milter("async")]
            public sealed class Waits
            {
                [OnData]
                [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
                public async ValueTask<Verdict> Data(CancellationToken aborted)
                {
                    await Task.Delay(Timeout.Infinite, aborted);
                    return Verdict.Continue;
                }

                [OnAbort]
                public ValueTask Abort(CancellationToken aborted) => default;
            }
            """);

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.AllProblems);
    }

    [Fact]
    public void EveryDiagnosticIDHasATestAndAnEntryInTheDocumentation()
    {
        string docs = File.ReadAllText(Path.Combine(Samples.RepositoryRoot, "docs", "diagnostics.md"));
        string[] tested = [.. typeof(DiagnosticTests).GetMethods().Select(m => m.Name[..Math.Min(7, m.Name.Length)]).Where(n => n.StartsWith("AOTM", StringComparison.Ordinal)).Distinct()];

        for (int i = 1; i <= 29; i++)
        {
            string id = $"AOTM{i:000}";
            Assert.Equal(id, DiagnosticDescriptors.ById(id).Id);
            Assert.Equal("AotMilter", DiagnosticDescriptors.ById(id).Category);
            Assert.Contains(id, tested);
            Assert.Contains($"## {id}", docs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CodeThatDoesNotCompileGetsCompilerErrorsAndNoGeneratorNoise()
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

    private static string SymbolDisplay(string text) => Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(text, quote: true);

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
