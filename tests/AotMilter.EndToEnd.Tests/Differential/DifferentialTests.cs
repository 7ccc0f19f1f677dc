using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using AotMilter.Generated.AotMilter_TestFilters;
using AotMilter.Mta;
using AotMilter.TestFilters;
using AotMilter.Testing;
using Xunit;

namespace AotMilter.EndToEnd.Tests.Differential;

/// <summary>
/// The kit's promise, checked: for each message, the kit playing an MTA feeds the filter what that real MTA feeds it,
/// and its "final message" is what that real MTA delivers. The filter ("test-diff") records what it sees and makes the
/// same edits to every message (header added, changed, deleted, inserted at index 2, a change of a missing header, a
/// recipient added). Inputs: the project's own messages (Messages/*.eml) and every message of ../shared/corpus when
/// that directory exists. What is compared, and the few normalisations, are described in <see cref="MessageComparison"/>.
/// </summary>
public static class DifferentialCases
{
    /// <summary>Set to a directory to keep, for every message, what the filter saw and what was delivered, by the kit
    /// and by the real MTA (for working out a difference).</summary>
    public const string DumpVariable = "AOTMILTER_DIFF_DUMP";

    public static string OwnMessages => Path.Combine(RepoPaths.Root, "tests", "AotMilter.EndToEnd.Tests", "Messages");

    /// <summary>../shared/corpus, relative to the repository.</summary>
    public static string Corpus => Path.GetFullPath(Path.Combine(RepoPaths.Root, "..", "shared", "corpus"));

    public static TheoryData<string> Own() => [.. Directory.GetFiles(OwnMessages, "*.eml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    /// <summary>Every corpus message, or one placeholder row that skips when the corpus is absent.</summary>
    public static TheoryData<string> Shared() => Directory.Exists(Corpus)
        ? [.. Directory.GetFiles(Corpus, "*.eml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)]
        : ["(corpus absent)"];

    public static async Task RunAsync(DifferentialFixture fixture, string directory, string file)
    {
        Skip.If(file == "(corpus absent)", $"the shared corpus is not present at {Corpus}");
        byte[] smtp = MessageComparison.SmtpBytes(await File.ReadAllBytesAsync(Path.Combine(directory, file)));
        Email input = Email.Parse(smtp);
        string key = fixture.NextKey("diff");
        string sender = $"{key}@mail.test";
        const string recipient = "rcpt@rcpt.test";

        await fixture.VerifyAsync(async () =>
        {
            // The kit first (in-process, the same filter code as in the daemon), then the real MTA.
            MessageResult kit;
            await using (var mta = new TestMta(fixture.Profile, MilterCatalog.Registrations.Single(r => r.Name == "test-diff")))
            {
                kit = await mta.SendAsync(input, sender, recipient);
            }

            string? kitSaw = Transcripts.Get(key);
            Transcripts.Remove(key);
            SmtpTransaction real = await fixture.Mta.SendAsync(sender, [recipient], smtp);

            // 1. The SMTP outcome.
            Assert.True(kit.Accepted == real.Accepted,
                $"kit: {kit.Outcome} ({kit.FinalResponse}); {fixture.Mta.Name}: {real.FirstFailure?.ToString() ?? "accepted"}\n{kit}");
            if (!real.Accepted)
            {
                var failure = real.FirstFailure!;
                Assert.Equal(kit.FinalResponse.Code, failure.Code);
                Assert.Equal(kit.FinalResponse.Lines, failure.Lines);
                return;
            }

            // 2. What the filter saw: every header, the body (length and SHA-256 per chunk sequence), in order.
            SinkMessage delivered = await fixture.Mta.WaitForAsync(m => m.Sender == sender, MtaFixture.DeliveryTimeout, key);
            string realSaw = await File.ReadAllTextAsync(Path.Combine(fixture.RecordDirectory, key + ".txt"));
            if (Environment.GetEnvironmentVariable(DumpVariable) is { Length: > 0 } dump)
            {
                string prefix = Path.Combine(dump, $"{fixture.Mta.Name}-{file}");
                System.IO.Directory.CreateDirectory(dump);
                await File.WriteAllTextAsync(prefix + ".kit-saw.txt", kitSaw);
                await File.WriteAllTextAsync(prefix + ".real-saw.txt", realSaw);
                await File.WriteAllBytesAsync(prefix + ".kit.eml", kit.FinalMessage?.ToBytes() ?? []);
                await File.WriteAllBytesAsync(prefix + ".real.eml", delivered.Data);
            }
            Assert.Equal(Content(realSaw, input, fixture.Profile), Content(kitSaw ?? "", input, fixture.Profile));

            // 3. The envelope handed on.
            Assert.Equal(delivered.Sender, kit.FinalEnvelope!.Sender.Address);
            Assert.Equal(
                delivered.RecipientAddresses.Select(a => a.ToLowerInvariant()).Order(),
                kit.FinalEnvelope.Recipients.Select(r => r.Address.ToLowerInvariant()).Order());

            // 4. The message handed on, byte for byte.
            (string expected, List<string> kitApplied) = MessageComparison.Canonical(kit.FinalMessage!.ToBytes(), input, fixture.Profile);
            (string actual, List<string> realApplied) = MessageComparison.Canonical(delivered.Data, input, fixture.Profile);
            Assert.True(expected == actual,
                $"the kit's final message differs from what {fixture.Mta.Name} delivered at {MessageComparison.FirstDifference(expected, actual)}\n"
                + $"normalised (kit): {string.Join("; ", kitApplied.Distinct())}\nnormalised (real): {string.Join("; ", realApplied.Distinct())}");
        });
    }

    /// <summary>
    /// The lines of a transcript about the content: headers, end of headers, body chunks, end of message. For Sendmail,
    /// the value of a field the input has longer than its line limit is left out (see <see cref="MessageComparison"/>).
    /// </summary>
    private static string Content(string transcript, Email input, MtaProfile profile)
    {
        string[] tooLong = profile.Kind == MtaKind.Sendmail
            ? [.. input.Headers.Where(h => h.Raw.Length > MessageComparison.SendmailMaxLine).Select(h => $"header {h.Name}: ")]
            : [];
        return string.Join('\n', transcript.Split('\n')
            .Where(l => l.StartsWith("header ", StringComparison.Ordinal) || l == "eoh"
                || l.StartsWith("body ", StringComparison.Ordinal) || l.StartsWith("eom ", StringComparison.Ordinal))
            .Select(l => tooLong.FirstOrDefault(p => l.StartsWith(p, StringComparison.OrdinalIgnoreCase)) is { } prefix
                ? prefix + "(longer than Sendmail's line limit)"
                : l));
    }
}

public sealed class PostfixDifferentialTests(PostfixDifferentialFixture fixture) : IClassFixture<PostfixDifferentialFixture>
{
    [SkippableTheory]
    [MemberData(nameof(DifferentialCases.Own), MemberType = typeof(DifferentialCases))]
    public Task OwnMessageKitEqualsRealPostfix(string file) => DifferentialCases.RunAsync(fixture, DifferentialCases.OwnMessages, file);

    [SkippableTheory]
    [MemberData(nameof(DifferentialCases.Shared), MemberType = typeof(DifferentialCases))]
    public Task CorpusMessageKitEqualsRealPostfix(string file) => DifferentialCases.RunAsync(fixture, DifferentialCases.Corpus, file);
}

public sealed class SendmailDifferentialTests(SendmailDifferentialFixture fixture) : IClassFixture<SendmailDifferentialFixture>
{
    [SkippableTheory]
    [MemberData(nameof(DifferentialCases.Own), MemberType = typeof(DifferentialCases))]
    public Task OwnMessageKitEqualsRealSendmail(string file) => DifferentialCases.RunAsync(fixture, DifferentialCases.OwnMessages, file);

    [SkippableTheory]
    [MemberData(nameof(DifferentialCases.Shared), MemberType = typeof(DifferentialCases))]
    public Task CorpusMessageKitEqualsRealSendmail(string file) => DifferentialCases.RunAsync(fixture, DifferentialCases.Corpus, file);
}
