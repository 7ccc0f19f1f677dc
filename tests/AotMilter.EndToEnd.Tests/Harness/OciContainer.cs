using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// A container run from an OCI image layout with a real OCI runtime, as an admin without Docker would: <c>umoci
/// unpack</c> turns the image into a runtime bundle (rootfs and config.json, with the image's entrypoint, command and
/// user), and <c>runc run</c> runs it in the foreground of a child process, whose output is kept. The runtime's state
/// lives in the bundle's temp directory, apart from any system containers. Dispose stops the container (SIGTERM, then
/// SIGKILL), deletes it and removes the bundle, whatever happened before.
/// </summary>
public sealed class OciContainer : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private readonly ContainerTools _tools;
    private readonly TempDirectory _directory;
    private readonly StringBuilder _output = new();
    private Process? _runtime;

    private OciContainer(ContainerTools tools, TempDirectory directory, string id)
    {
        _tools = tools;
        _directory = directory;
        Id = id;
    }

    public string Id { get; }

    /// <summary>The runtime bundle: config.json and rootfs.</summary>
    public string Bundle => _directory.Combine("bundle");

    /// <summary>runc's state directory (<c>runc --root</c>); <see cref="StaleInstances"/> looks for it by this name.</summary>
    public string StateDirectory => _directory.Combine(StaleInstances.RuncStateDirectory);

    /// <summary>The command line the container runs (entrypoint and arguments).</summary>
    public IReadOnlyList<string> CommandLine { get; private set; } = [];

    /// <summary>The container's first process, as the host sees it.</summary>
    public int Pid { get; private set; }

    public bool HasExited => _runtime?.HasExited ?? true;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Unpacks <paramref name="image"/> and starts it. <paramref name="arguments"/>, when given, replace the image's
    /// Cmd and keep its Entrypoint (as <c>docker run IMAGE ARGS...</c> does). <paramref name="hostNetwork"/> leaves out the
    /// network namespace, so that the container's listening ports are the host's. Returns once the container's process
    /// runs (not necessarily listens yet).
    /// </summary>
    public static async Task<OciContainer> StartAsync(ContainerImage image, bool hostNetwork, IReadOnlyList<string>? arguments = null)
    {
        var tools = await Prerequisites.ContainerToolsAsync();
        await StaleInstances.CleanUpOnceAsync();
        var container = new OciContainer(tools, new TempDirectory("oci"), $"aotmilter-test-{Guid.NewGuid():N}"[..27]);
        try
        {
            await container.StartCoreAsync(image, hostNetwork, arguments);
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }

        return container;
    }

    /// <summary>The Uid: line of the container process's /proc status (real, effective, saved, file system).</summary>
    public string[] UserIds() => StatusField("Uid:");

    public string[] GroupIds() => StatusField("Gid:");

    /// <summary>
    /// True if the container's network namespace has a TCP socket listening on <paramref name="address"/>:<paramref
    /// name="port"/> (IPv4, dotted), read from /proc/PID/net/tcp, which shows the namespace of that process.
    /// </summary>
    public bool IsListening(string address, int port)
    {
        var bytes = System.Net.IPAddress.Parse(address).GetAddressBytes();
        Array.Reverse(bytes); // /proc/net/tcp prints the address as a little-endian 32-bit number
        var local = $"{Convert.ToHexString(bytes)}:{port:X4}";
        try
        {
            return File.ReadLines($"/proc/{Pid}/net/tcp").Skip(1)
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Any(f => f.Length > 3 && f[1] == local && f[3] == "0A"); // 0A: TCP_LISTEN
        }
        catch (IOException)
        {
            return false;
        }
    }

    public string Describe() =>
        $"--- container {Id} (`{string.Join(' ', CommandLine)}`){(HasExited ? $" exited with {_runtime?.ExitCode}" : " running")}, "
        + $"bundle {Bundle} ---\n{Output.TrimEnd()}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_runtime is not null)
            {
                if (!_runtime.HasExited)
                {
                    await Runc("kill", Id, "TERM");
                    if (!await ExitsWithinAsync(StopTimeout))
                    {
                        Append($"(did not stop within {StopTimeout.TotalSeconds:0}s of SIGTERM; killed)", "harness: ");
                        await Runc("kill", Id, "KILL");
                        if (!await ExitsWithinAsync(StopTimeout))
                        {
                            _runtime.Kill(entireProcessTree: true);
                        }
                    }
                }

                _runtime.Dispose();
            }

            if (Directory.Exists(StateDirectory))
            {
                await Runc("delete", "--force", Id);
            }
        }
        finally
        {
            _directory.Dispose();
        }
    }

    private async Task StartCoreAsync(ContainerImage image, bool hostNetwork, IReadOnlyList<string>? arguments)
    {
        (await ProcessRunner.RunAsync(_tools.Umoci, ["unpack", "--image", $"{image.Directory}:latest", Bundle], CommandTimeout))
            .EnsureSuccess("umoci unpack");
        var configPath = Path.Combine(Bundle, "config.json");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(configPath))!.AsObject();
        var process = config["process"]!.AsObject();
        process["terminal"] = false;
        if (arguments is not null)
        {
            process["args"] = new JsonArray([.. image.Entrypoint.Concat(arguments).Select(a => JsonValue.Create(a))]);
        }

        if (hostNetwork)
        {
            var namespaces = config["linux"]!["namespaces"]!.AsArray();
            foreach (var network in namespaces.Where(n => n!["type"]!.GetValue<string>() == "network").ToList())
            {
                namespaces.Remove(network);
            }
        }

        await File.WriteAllTextAsync(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        CommandLine = [.. process["args"]!.AsArray().Select(a => a!.GetValue<string>())];

        Directory.CreateDirectory(StateDirectory);
        var start = new ProcessStartInfo(_tools.Runc)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--root", StateDirectory, "run", "--bundle", Bundle, Id })
        {
            start.ArgumentList.Add(a);
        }

        _runtime = new Process { StartInfo = start, EnableRaisingEvents = true };
        _runtime.OutputDataReceived += (_, e) => Append(e.Data, "");
        _runtime.ErrorDataReceived += (_, e) => Append(e.Data, "err: ");
        _runtime.Start();
        _runtime.BeginOutputReadLine();
        _runtime.BeginErrorReadLine();
        _runtime.StandardInput.Close();

        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            var state = await Runc("state", Id);
            if (state.Succeeded && JsonNode.Parse(state.StdOut) is { } json && json["status"]?.GetValue<string>() == "running")
            {
                Pid = json["pid"]!.GetValue<int>();
                return;
            }

            if (_runtime.HasExited || DateTime.UtcNow >= deadline)
            {
                await Task.Delay(200); // let the output readers catch up
                throw new InvalidOperationException($"the container did not start.\n{state}\n{Describe()}");
            }

            await Task.Delay(50);
        }
    }

    private async Task<bool> ExitsWithinAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _runtime!.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private string[] StatusField(string name) =>
        File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith(name, StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[1..];

    private Task<ProcessResult> Runc(params string[] arguments) =>
        ProcessRunner.RunAsync(_tools.Runc, ["--root", StateDirectory, .. arguments], CommandTimeout);

    private void Append(string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(prefix).AppendLine(line);
        }
    }
}
