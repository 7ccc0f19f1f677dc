using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using AotMilter.EndToEnd.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace AotMilter.EndToEnd.Tests;

/// <summary>
/// The container image of <c>./build.sh image</c> (artifacts/image, an OCI image layout written without a Docker
/// engine): what it holds, that it is reproducible, and that it runs under a real OCI runtime (umoci unpack + runc)
/// as user 10001, with real Postfix delivering a message through the containerised milter.
/// </summary>
public sealed class ContainerImageTests(ITestOutputHelper output)
{
    private const int DefaultPort = 8890;
    private const long MaxCompressedBytes = 10L * 1024 * 1024;

    [Fact]
    public async Task TheImageHoldsTheBinaryTheLibrariesItLoadsAndAUserDatabaseAndNothingElse()
    {
        ContainerImage image = await ContainerImage.EnsureAsync();
        List<(TarEntryType Type, string Name, UnixFileMode Mode, int Uid, int Gid, DateTimeOffset Time, byte[] Data)> entries = ReadLayer(image.LayerPath);
        long uncompressed = entries.Sum(e => (long)e.Data.Length);
        output.WriteLine($"{image.Directory}: layer {image.CompressedLayerSize} bytes compressed, {uncompressed} bytes of files");
        entries.ForEach(e => output.WriteLine($"  {e.Type,-12} {Convert.ToString((int)e.Mode, 8),4} {e.Name} {e.Data.Length}"));

        Assert.True(image.CompressedLayerSize < MaxCompressedBytes, $"the compressed layer is {image.CompressedLayerSize} bytes");
        Assert.All(entries, e =>
        {
            Assert.True(e.Type is TarEntryType.Directory or TarEntryType.RegularFile, $"{e.Name} is a {e.Type}");
            Assert.Equal((0, 0), (e.Uid, e.Gid));
            Assert.Equal(DateTimeOffset.UnixEpoch, e.Time);
        });

        // The binary, the C library the runtime links against and its loader; no shell, no ICU, no OpenSSL, no other file.
        string[] files = [.. entries.Where(e => e.Type == TarEntryType.RegularFile).Select(e => e.Name).Order(StringComparer.Ordinal)];
        string[] libraries = [.. files.Where(f => f.StartsWith("lib", StringComparison.Ordinal)).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(["aotmilter", "etc/group", "etc/passwd"], files.Where(f => !f.StartsWith("lib", StringComparison.Ordinal)));
        Assert.Equal(["ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6"], libraries);
        Assert.Equal(["etc", "lib", "lib/x86_64-linux-gnu", "lib64", "tmp"], entries.Where(e => e.Type == TarEntryType.Directory).Select(e => e.Name));
        Assert.Equal((UnixFileMode)Convert.ToInt32("1777", 8), entries.Single(e => e.Name == "tmp").Mode);

        var binary = entries.Single(e => e.Name == "aotmilter");
        Assert.Equal((UnixFileMode)Convert.ToInt32("755", 8), binary.Mode);
        Assert.Equal(SHA256.HashData(await File.ReadAllBytesAsync(RepoPaths.AotMilterBinary())), SHA256.HashData(binary.Data));

        string passwd = Encoding.UTF8.GetString(entries.Single(e => e.Name == "etc/passwd").Data);
        string group = Encoding.UTF8.GetString(entries.Single(e => e.Name == "etc/group").Data);
        Assert.Contains("aotmilter:x:10001:10001:aotmilter:/nonexistent:/sbin/nologin\n", passwd);
        Assert.Contains("aotmilter:x:10001:\n", group);

        Assert.Equal(["/aotmilter"], image.Entrypoint);
        Assert.Equal(["-p", $"inet:{DefaultPort}@0.0.0.0", "-f", "log"], image.Cmd);
        Assert.Equal("10001:10001", image.Config["User"]!.GetValue<string>());
        Assert.NotNull(image.Config["ExposedPorts"]?[$"{DefaultPort}/tcp"]);
        Assert.Equal("aotmilter", image.Label("org.opencontainers.image.title"));
        var version = await ProcessRunner.RunAsync(RepoPaths.AotMilterBinary(), ["--version"], TimeSpan.FromSeconds(30));
        Assert.Equal(version.StdOut.Trim(), image.Label("org.opencontainers.image.version"));
    }

    [Fact]
    public async Task BuildingTheImageAgainFromTheSameBinaryGivesTheSameDigest()
    {
        ContainerImage image = await ContainerImage.EnsureAsync();
        using var dir = new TempDirectory("image-again");

        await ContainerImage.BuildAsync(RepoPaths.AotMilterBinary(), dir.Combine("layout"), image.Label("org.opencontainers.image.revision"));

        Assert.Equal(image.ManifestDigest, ContainerImage.Read(dir.Combine("layout")).ManifestDigest);
    }

    [Fact]
    public async Task WithItsDefaultArgumentsTheContainerListensOnPort8890OfAllItsAddressesAsUser10001()
    {
        ContainerImage image = await ContainerImage.EnsureAsync();

        // Its own network namespace, as under Docker: port 8890 of the host is not involved.
        await using OciContainer container = await OciContainer.StartAsync(image, hostNetwork: false);
        try
        {
            await WaitForAsync(() => container.IsListening("0.0.0.0", DefaultPort), container, "port 8890 of 0.0.0.0");

            Assert.Equal(["10001", "10001", "10001", "10001"], container.UserIds());
            Assert.Equal(["10001", "10001", "10001", "10001"], container.GroupIds());

            // The log is written by a background writer: the line may reach the pipe just after the port listens.
            string listening = $"listening on inet:{DefaultPort}@0.0.0.0 with filters log";
            await WaitForAsync(() => container.Output.Contains(listening, StringComparison.Ordinal), container, "the listening log line");
            Assert.Contains(listening, container.Output);
            Assert.DoesNotContain("refusing to run as root", container.Output);
        }
        catch (Exception e)
        {
            throw new Fixtures.EndToEndFailure($"{e.GetType().Name}: {e.Message}\n\n{container.Describe()}", e);
        }
    }

    [Fact]
    public async Task PostfixDeliversAMessageThroughTheContainerisedMilterWithTheFilterHeaderAdded()
    {
        ContainerImage image = await ContainerImage.EnsureAsync();
        int port = Ports.GetFree();

        // The host's network, so that Postfix on 127.0.0.1 reaches it; arguments replace the image's Cmd as with
        // `docker run IMAGE -p ... -f log`.
        await using OciContainer container = await OciContainer.StartAsync(image, hostNetwork: true, ["-p", $"inet:{port}@127.0.0.1", "-f", "log"]);
        PostfixInstance? postfix = null;
        try
        {
            await WaitForAsync(() => container.IsListening("127.0.0.1", port), container, $"port {port} of 127.0.0.1");
            Assert.Equal(["10001", "10001", "10001", "10001"], container.UserIds());

            postfix = await PostfixInstance.StartAsync(new PostfixOptions { Milter = MilterEndpoint.Inet(port) });
            var message = TestMessage.Create(subject: "through the container", body: "Delivered through a containerised milter.\n");
            var smtp = await postfix.SendAsync("sender@example.org", ["rcpt@example.com"], message.Bytes);

            Assert.True(smtp.Accepted, $"Postfix did not accept the message: {smtp.FirstFailure}");
            var delivered = await postfix.WaitForMessageAsync(message, Fixtures.MtaFixture.DeliveryTimeout);
            Assert.Matches(@"^\d+\.\d+\.\d+", Assert.Single(delivered.Parsed.HeaderValues("X-AotMilter")));
            Assert.Equal(message.Body, delivered.Body);
            Assert.Contains("through the container", container.Output); // the log filter logged the Subject header
        }
        catch (Exception e)
        {
            await Task.Delay(300); // let Postfix and the container flush their logs
            throw new Fixtures.EndToEndFailure(
                $"{e.GetType().Name}: {e.Message}\n\n{postfix?.Describe() ?? "--- Postfix not started ---"}\n{container.Describe()}", e);
        }
        finally
        {
            if (postfix is not null)
            {
                await postfix.DisposeAsync();
            }
        }
    }

    private static List<(TarEntryType Type, string Name, UnixFileMode Mode, int Uid, int Gid, DateTimeOffset Time, byte[] Data)> ReadLayer(string path)
    {
        var entries = new List<(TarEntryType, string, UnixFileMode, int, int, DateTimeOffset, byte[])>();
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            byte[] data = [];
            if (entry.DataStream is { } stream)
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                data = copy.ToArray();
            }

            entries.Add((entry.EntryType, entry.Name.TrimEnd('/'), entry.Mode, entry.Uid, entry.Gid, entry.ModificationTime, data));
        }

        return entries;
    }

    private static async Task WaitForAsync(Func<bool> condition, OciContainer container, string what)
    {
        for (int i = 0; i < 300; i++)
        {
            if (condition())
            {
                return;
            }

            if (container.HasExited)
            {
                break;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"waited in vain for {what}");
    }
}
