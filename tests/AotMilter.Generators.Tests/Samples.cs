using System.Text.RegularExpressions;

namespace AotMilter.Generators.Tests;

/// <summary>Sample filters, and the bundled filters' sources read from the repository.</summary>
internal static partial class Samples
{
    /// <summary>Every callback, every parameter type, parameters in unusual orders, void and Verdict returns, every edit.</summary>
    public const string EveryCallback = """
        using System;
        using AotMilter;

        namespace Samples;

        [Milter("every", Description = "Handles every event \"quoted\"")]
        public sealed class EveryCallbackFilter
        {
            [OnConnect]
            public Verdict Connect(MilterContext context, ConnectInfo info) => info.Port == 0 ? Verdict.Accept : Verdict.Continue;

            [OnHelo]
            public Verdict Helo(ReadOnlySpan<byte> name, MilterContext context) => name.IsEmpty ? Verdict.Reject : Verdict.Continue;

            [OnMailFrom]
            public Verdict MailFrom(EnvelopeAddress sender) => sender.Address.IsEmpty ? Verdict.TempFail : Verdict.Continue;

            [OnRcptTo]
            public void RcptTo(MilterContext context, EnvelopeAddress recipient)
            {
            }

            [OnData]
            public Verdict Data(MilterContext context) => Verdict.Continue;

            [OnHeader]
            public void Header(HeaderField header)
            {
            }

            [OnEndOfHeaders]
            public Verdict EndOfHeaders() => Verdict.Continue;

            [OnBody]
            public Verdict Body(ReadOnlySpan<byte> chunk, MilterContext context) => chunk.Length > 1000 ? Verdict.Skip : Verdict.Continue;

            [OnEndOfMessage]
            public Verdict EndOfMessage(MilterContext context, MessageEditor editor)
            {
                editor.AddHeader("X-A", "1");
                editor.ChangeHeader("Subject", 1, "changed");
                editor.AddRecipient("a@example.com");
                editor.AddRecipient("b@example.com", "NOTIFY=NEVER");
                editor.DeleteRecipient("<c@example.com>");
                editor.ReplaceBody("body\r\n"u8);
                editor.ChangeSender("d@example.com");
                editor.Quarantine("held");
                editor.Progress();
                return Verdict.Accept;
            }

            [OnAbort]
            public void Abort(MilterContext context)
            {
            }

            [OnClose]
            internal void Close()
            {
            }

            [OnUnknown]
            public Verdict Unknown(ReadOnlySpan<byte> command, MilterContext context) => Verdict.Reject;
        }
        """;

    /// <summary>Only end of message, no parameters, no edits.</summary>
    public const string EndOfMessageOnly = """
        using AotMilter;

        namespace Samples;

        [Milter("eom-only")]
        internal sealed class EndOfMessageOnlyFilter
        {
            [OnEndOfMessage]
            public Verdict Done() => Verdict.Accept;
        }
        """;

    /// <summary>Edits made in helper methods of the class (and a nested helper type), and a body that never skips.</summary>
    public const string HelperEdits = """
        using System;
        using AotMilter;

        namespace Samples.Deeper;

        public class Outer
        {
            [Milter("helpers")]
            public sealed class HelperEditsFilter
            {
                [OnBody]
                public Verdict Body(ReadOnlySpan<byte> chunk) => Verdict.Continue;

                [OnEndOfMessage]
                public void Done(MessageEditor editor)
                {
                    Stamp(editor);
                    new Remover(editor).Run();
                }

                private static void Stamp(MessageEditor editor) => editor.InsertHeader(0, "X-Stamp", "yes");

                private readonly struct Remover(MessageEditor editor)
                {
                    public void Run() => editor?.DeleteHeader("X-Old");
                }
            }
        }
        """;

    /// <summary>A record class with an internal constructor, a keyword-named method and a void end of message.</summary>
    public const string OddShapes = """
        using AotMilter;

        namespace Samples;

        [Milter("odd_shapes-2")]
        internal record OddShapesFilter
        {
            internal OddShapesFilter()
            {
            }

            [OnRcptTo]
            [OnMailFrom]
            public Verdict @event(EnvelopeAddress address) => address.Is("x@example.com") ? Verdict.Discard : Verdict.Continue;

            [OnEndOfMessage]
            protected internal void Done()
            {
            }
        }
        """;

    /// <summary>
    /// Settings, capabilities, async callbacks that decide and that observe, string, [Macro] parameters of every type
    /// and CancellationToken parameters. Records what it saw in <c>Seen</c>.
    /// </summary>
    public const string Modern = """
        using System;
        using System.Collections.Generic;
        using System.Runtime.CompilerServices;
        using System.Text;
        using System.Threading;
        using System.Threading.Tasks;
        using AotMilter;
        using AotMilter.Configuration;

        namespace Samples;

        public sealed class GreetingSettings : IFilterSettings<GreetingSettings>
        {
            private GreetingSettings(string greeting) => Greeting = greeting;

            public string Greeting { get; }

            static GreetingSettings IFilterSettings<GreetingSettings>.Parse(ConfigSection section)
                => new(section.Get("greeting")?.Value ?? "hello");
        }

        [Milter("modern", Description = "Async, macros, settings", RejectedRecipients = true, RawHeaderValues = true)]
        public sealed class ModernFilter
        {
            private static readonly SmtpReply Busy = SmtpReply.Create(451, "4.7.1", "Busy, try again later");
            private static readonly SmtpReply Refused = SmtpReply.Parse("550 5.7.1 Refused");

            private readonly GreetingSettings _settings;

            public ModernFilter(GreetingSettings settings) => _settings = settings;

            public List<string> Seen { get; } = [];

            [OnConnect]
            public void Connect([Macro("daemon_name")] string? daemon, [Macro("j")] ReadOnlySpan<byte> host)
                => Seen.Add($"connect {daemon ?? "(none)"} {Encoding.ASCII.GetString(host)}");

            [OnHelo]
            [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
            public async ValueTask<Verdict> Helo(string name, MilterContext context, CancellationToken aborted)
            {
                await Task.Yield();
                aborted.ThrowIfCancellationRequested();
                Seen.Add("helo " + name);
                return name == "busy" ? Verdict.TempFailWith(Busy) : Verdict.Continue;
            }

            [OnMailFrom]
            public ValueTask MailFrom(string sender, [Macro("{auth_authen}")] string? user, [Macro("mail_addr")] string from)
            {
                Seen.Add($"mail {sender} {user ?? "(none)"} [{from}]");
                return default;
            }

            [OnRcptTo]
            public ValueTask<Verdict> RcptTo([Macro("rcpt_mailer")] string? mailer, string recipient)
            {
                Seen.Add($"rcpt {recipient} {mailer}");
                return new(recipient.StartsWith("refuse", StringComparison.Ordinal) ? Verdict.RejectWith(Refused) : Verdict.Continue);
            }

            [OnHeader]
            public Verdict Header(HeaderField header, [Macro("{mail_addr}")] ReadOnlySpan<byte> from)
            {
                Seen.Add($"header {header.NameString()} {Encoding.ASCII.GetString(from)}");
                return Verdict.Continue;
            }

            [OnBody]
            public Verdict Body(ReadOnlySpan<byte> chunk) => chunk.IsEmpty ? Verdict.Continue : Verdict.Skip;

            [OnEndOfMessage]
            [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
            public async ValueTask<Verdict> EndOfMessage(MessageEditor editor, [Macro("i")] string? queueId)
            {
                await Task.Yield();
                Seen.Add($"eom {queueId}");
                editor.AddHeader("X-Greeting", " " + _settings.Greeting);
                return Verdict.Accept;
            }

            [OnAbort]
            public ValueTask Abort(CancellationToken aborted, MilterContext context)
            {
                Seen.Add(aborted == context.CallbackAborted ? "abort" : "abort with another token");
                return default;
            }

            [OnUnknown]
            [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
            public async ValueTask Unknown(string command)
            {
                await Task.Yield();
                Seen.Add("unknown " + command);
            }
        }
        """;

    /// <summary>
    /// A CancellationToken in every callback, at every position, all asynchronous; <c>Data</c> waits for nothing but
    /// its token. Records the tokens it was given in <c>Tokens</c>.
    /// </summary>
    public const string Aborting = """
        using System.Collections.Generic;
        using System.Runtime.CompilerServices;
        using System.Threading;
        using System.Threading.Tasks;
        using AotMilter;

        namespace Samples;

        [Milter("aborting")]
        public sealed class AbortingFilter
        {
            public List<CancellationToken> Tokens { get; } = [];

            [OnConnect]
            public ValueTask<Verdict> Connect(CancellationToken aborted) => Decide(aborted);

            [OnHelo]
            public ValueTask Helo(string name, CancellationToken aborted) => Observe(aborted);

            [OnMailFrom]
            public ValueTask<Verdict> MailFrom(CancellationToken aborted, string sender, MilterContext context) => Decide(aborted);

            [OnRcptTo]
            public ValueTask RcptTo(MilterContext context, CancellationToken aborted) => Observe(aborted);

            [OnData]
            [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
            public async ValueTask<Verdict> Data(CancellationToken aborted)
            {
                Tokens.Add(aborted);
                await Task.Delay(Timeout.Infinite, aborted);
                return Verdict.Accept;
            }

            [OnHeader]
            public ValueTask<Verdict> Header(CancellationToken aborted) => Decide(aborted);

            [OnEndOfHeaders]
            public ValueTask EndOfHeaders(CancellationToken aborted) => Observe(aborted);

            [OnBody]
            public ValueTask<Verdict> Body(CancellationToken aborted) => Decide(aborted);

            [OnEndOfMessage]
            public ValueTask<Verdict> EndOfMessage(MessageEditor editor, CancellationToken aborted) => Decide(aborted);

            [OnAbort]
            public ValueTask Abort(CancellationToken aborted) => Observe(aborted);

            [OnClose]
            public ValueTask Close(CancellationToken aborted) => Observe(aborted);

            [OnUnknown]
            public ValueTask<Verdict> Unknown(string command, CancellationToken aborted) => Decide(aborted);

            private ValueTask<Verdict> Decide(CancellationToken aborted)
            {
                Tokens.Add(aborted);
                return new(Verdict.Continue);
            }

            private ValueTask Observe(CancellationToken aborted)
            {
                Tokens.Add(aborted);
                return default;
            }
        }
        """;

    /// <summary>A settings class implementing Parse implicitly, and a filter that keeps a parameterless constructor beside the settings one.</summary>
    public const string ImplicitSettings = """
        using AotMilter;
        using AotMilter.Configuration;

        namespace Samples;

        public sealed record LimitSettings(int Limit) : IFilterSettings<LimitSettings>
        {
            public static LimitSettings Parse(ConfigSection section)
            {
                ConfigEntry? entry = section.Get("limit");
                if (entry is null)
                {
                    return new LimitSettings(10);
                }

                if (!int.TryParse(entry.Value, out int limit))
                {
                    section.Error(entry, "not a number");
                }

                return new LimitSettings(limit);
            }
        }

        [Milter("limit")]
        public sealed class LimitFilter
        {
            private readonly LimitSettings _settings;

            public LimitFilter()
                : this(new LimitSettings(1))
            {
            }

            public LimitFilter(LimitSettings settings) => _settings = settings;

            [OnEndOfMessage]
            public Verdict Done() => _settings.Limit > 5 ? Verdict.Accept : Verdict.Reject;
        }
        """;

    /// <summary>A console application with no filters of its own.</summary>
    public const string Program = """
        namespace App;

        public static class Program
        {
            public static int Main() => AotMilter.Generated.LinkedFilters.All.Length;
        }
        """;

    /// <summary>The global usings the SDK adds to a net10.0 project (ImplicitUsings), which the bundled filters rely on.</summary>
    public const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>The bundled filters as the Filters project compiles them (with the log messages stubbed).</summary>
    public static string[] Bundled => [ImplicitUsings, BenchFilter, LogFilter, LogFilterLogStub];

    /// <summary>The bundled bench filter's source.</summary>
    public static string BenchFilter => ReadBundled("BenchFilter.cs");

    /// <summary>The bundled log filter's source.</summary>
    public static string LogFilter => ReadBundled("LogFilter.cs");

    /// <summary>
    /// The log filter's messages with bodies instead of [LoggerMessage] partial declarations (the logging generator does
    /// not run here), so the bundled sources compile.
    /// </summary>
    public static string LogFilterLogStub
        => PartialLogMethod().Replace(ReadBundled("LogFilterLog.cs"), "public static void $1($2) { }");

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string ReadBundled(string file) => File.ReadAllText(Path.Combine(RepositoryRoot, "filters", "AotMilter.Filters", file));

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "AotMilter.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"AotMilter.sln not found above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"public static partial void (\w+)\(([^;]*)\);")]
    private static partial Regex PartialLogMethod();
}
