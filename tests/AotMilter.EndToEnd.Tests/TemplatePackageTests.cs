using System.Diagnostics;
using System.Text.RegularExpressions;
using AotMilter.EndToEnd.Tests.Fixtures;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// A milter of one's own, made only from the packages in artifacts/packages (<c>./build.sh pack</c>, which
/// <c>./build.sh test</c> runs first), outside this repository, as a new user would: <c>dotnet new install</c> the
/// templates, <c>dotnet new aotmilter</c>, <c>dotnet new aotmilter-filter</c>, <c>dotnet test</c>,
/// <c>dotnet publish</c>; then the published binary runs behind real Postfix and both filters' headers reach the sink.
/// </summary>
public sealed partial class TemplatePackageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    // What `dotnet test` of this suite sets for its own build; a dotnet started from here must not build with it.
    private static readonly string[] InheritedBuildVariables =
        [.. Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || n.StartsWith("VSTEST", StringComparison.Ordinal) || n is "DOTNET_HOST_PATH")];

    [Fact]
    public async Task TheTemplateMilterBuildsTestsPublishesAndFiltersMailBehindPostfix()
    {
        string packages = Path.Combine(RepoPaths.Root, "artifacts", "packages");
        string[] templates = Directory.Exists(packages) ? Directory.GetFiles(packages, "AotMilter.Templates.*.nupkg") : [];
        Assert.True(templates.Length == 1, $"expected one AotMilter.Templates package in {packages} (./build.sh pack writes them), found {templates.Length}");

        using var directory = new TempDirectory("aotmilter-template");
        WriteNuGetConfig(directory.Path, packages);
        string hive = directory.Combine("templates");
        var environment = new Dictionary<string, string>
        {
            // A private package folder: a package of this build never mixes with a same-numbered one restored before.
            ["NUGET_PACKAGES"] = directory.Combine("packages"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };

        await DotnetAsync(directory.Path, environment, "new", "install", templates[0], "--debug:custom-hive", hive);
        await DotnetAsync(directory.Path, environment, "new", "aotmilter", "-n", "Acme.Milter", "--debug:custom-hive", hive);
        string solution = directory.Combine("Acme.Milter");
        await DotnetAsync(Path.Combine(solution, "src", "Acme.Milter.Filters"), environment, "new", "aotmilter-filter", "-n", "NoBigAttachments", "--debug:custom-hive", hive);
        Assert.Contains("namespace Acme.Milter.Filters;", File.ReadAllText(Path.Combine(solution, "src", "Acme.Milter.Filters", "NoBigAttachments.cs")), StringComparison.Ordinal);

        ProcessResult test = await DotnetAsync(solution, environment, "test");
        Assert.Matches(@"Passed!\s+-\s+Failed:\s+0, Passed:\s+3,", test.StdOut);

        var clock = Stopwatch.StartNew();
        ProcessResult publish = await DotnetAsync(solution, environment, "publish", "src/Acme.Milter", "-c", "Release");
        output.WriteLine($"dotnet publish: {clock.Elapsed.TotalSeconds:0} s");
        Assert.DoesNotMatch(WarningPattern(), publish.StdOut + publish.StdErr);
        string binary = Path.Combine(solution, "src", "Acme.Milter", "bin", "Release", "net10.0", "linux-x64", "publish", "acme-milter");
        Assert.True(File.Exists(binary), $"no binary at {binary}\n{publish}");
        output.WriteLine($"acme-milter: {new FileInfo(binary).Length} bytes");

        ProcessResult listed = await ProcessRunner.RunAsync(binary, ["--list-filters"], TimeSpan.FromSeconds(30));
        Assert.Matches(@"(?m)^acme-milter\s+.*\n^no-big-attachments\s+", listed.StdOut);

        clock.Restart();
        await using MilterDaemon milter = await MilterDaemon.StartBinaryAsync(binary, "acme-milter", MilterEndpoint.Unix(directory.Combine("milter.sock")), "-f", "no-big-attachments");
        output.WriteLine($"acme-milter: listening {clock.Elapsed.TotalMilliseconds:0} ms after spawn");
        await using PostfixInstance postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = milter.Endpoint });

        var message = TestMessage.Create(subject: "lunch?");
        var smtp = await postfix.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);
        Assert.True(smtp.Accepted, $"{smtp.FirstFailure}\n{postfix.Describe()}\n{milter.Describe()}");
        SinkMessage delivered = await postfix.WaitForMessageAsync(message, MtaFixture.DeliveryTimeout);
        Assert.Equal("checked", Assert.Single(delivered.Parsed.HeaderValues("X-Acme-Milter")));
        Assert.Equal("checked", Assert.Single(delivered.Parsed.HeaderValues("X-no-big-attachments")));
        Assert.Equal(message.Body, delivered.Body);

        var blocked = TestMessage.Create(from: "offers@spam.example");
        var refused = await postfix.SendAsync("offers@spam.example", ["rcpt@example.com"], blocked.Bytes);
        Assert.False(refused.Accepted, $"Postfix accepted mail from the blocked domain\n{milter.Describe()}");
        Assert.Contains("5.7.1 Your domain may not send mail here", refused.FirstFailure?.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Only the packages of this build and the usual registry. Packages that builds on this machine already fetched
    /// (the SDK's Native AOT compiler among them) are read from the global package folder, unless it holds an
    /// AotMilter package, which would shadow this build's.
    /// </summary>
    private static void WriteNuGetConfig(string directory, string packages)
    {
        string global = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        bool shadowed = Directory.Exists(global) && Directory.EnumerateDirectories(global, "aotmilter*").Any();
        string fallback = Directory.Exists(global) && !shadowed
            ? $"""
                <fallbackPackageFolders>
                  <add key="global" value="{global}" />
                </fallbackPackageFolders>
              """
            : "";
        File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="aotmilter" value="{packages}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            {fallback}
            </configuration>
            """);
    }

    private async Task<ProcessResult> DotnetAsync(string workingDirectory, Dictionary<string, string> environment, params string[] arguments)
    {
        ProcessResult result = await ProcessRunner.RunAsync("dotnet", arguments, StepTimeout, environment: environment, workingDirectory: workingDirectory, unsetEnvironment: InheritedBuildVariables);
        output.WriteLine($"$ {result.Command}: exit {result.ExitCode}");
        Assert.True(result.Succeeded, result.ToString());
        return result;
    }

    [GeneratedRegex(@"warning [A-Z]+[0-9]+")]
    private static partial Regex WarningPattern();
}
