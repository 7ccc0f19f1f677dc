using System.Text.Json.Nodes;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// The OCI image layout <c>./build.sh image</c> writes (artifacts/image), read back: its manifest, configuration and
/// single layer. <see cref="EnsureAsync"/> uses artifacts/image when it is newer than the binary under test and the
/// image script; otherwise it writes the image of the binary under test with <c>dist/image/build-image.sh</c> into a
/// temp directory (artifacts/image and its docker-archive are left alone).
/// </summary>
public sealed class ContainerImage
{
    private static readonly Lazy<Task<ContainerImage>> Once = new(LoadOrBuildAsync);

    private ContainerImage(string directory, string manifestDigest, JsonObject config, string layerPath, long layerSize)
    {
        Directory = directory;
        ManifestDigest = manifestDigest;
        Config = config;
        LayerPath = layerPath;
        CompressedLayerSize = layerSize;
    }

    /// <summary>The OCI image layout (holds oci-layout, index.json and blobs/sha256).</summary>
    public string Directory { get; }

    /// <summary>sha256:... of the manifest tagged latest.</summary>
    public string ManifestDigest { get; }

    /// <summary>The image configuration's <c>config</c> object (Entrypoint, Cmd, User, ExposedPorts, Labels).</summary>
    public JsonObject Config { get; }

    /// <summary>The layer blob (tar+gzip).</summary>
    public string LayerPath { get; }

    public long CompressedLayerSize { get; }

    public IReadOnlyList<string> Entrypoint => [.. Config["Entrypoint"]!.AsArray().Select(e => e!.GetValue<string>())];

    public IReadOnlyList<string> Cmd => [.. Config["Cmd"]!.AsArray().Select(e => e!.GetValue<string>())];

    public string? Label(string name) => Config["Labels"]?[name]?.GetValue<string>();

    public static string Script => Path.Combine(RepoPaths.Root, "dist", "image", "build-image.sh");

    public static Task<ContainerImage> EnsureAsync() => Once.Value;

    /// <summary>Runs the image script: <c>build-image.sh --binary BINARY --out DIRECTORY [--revision R]</c>.</summary>
    public static async Task<ProcessResult> BuildAsync(string binary, string directory, string? revision)
    {
        List<string> arguments = [Script, "--binary", binary, "--out", directory];
        if (!string.IsNullOrEmpty(revision))
        {
            arguments.AddRange(["--revision", revision]);
        }

        return (await ProcessRunner.RunAsync("bash", arguments, TimeSpan.FromMinutes(5))).EnsureSuccess("dist/image/build-image.sh");
    }

    /// <summary>Reads the layout in <paramref name="directory"/>: index.json → manifest tagged latest → config and layer.</summary>
    public static ContainerImage Read(string directory)
    {
        var index = ReadJson(Path.Combine(directory, "index.json"));
        var manifestDigest = index["manifests"]!.AsArray()
            .Single(m => m!["annotations"]?["org.opencontainers.image.ref.name"]?.GetValue<string>() == "latest")!["digest"]!
            .GetValue<string>();
        var manifest = ReadJson(Blob(directory, manifestDigest));
        var config = ReadJson(Blob(directory, manifest["config"]!["digest"]!.GetValue<string>()));
        var layer = manifest["layers"]!.AsArray().Single()!;
        return new ContainerImage(
            directory,
            manifestDigest,
            config["config"]!.AsObject(),
            Blob(directory, layer["digest"]!.GetValue<string>()),
            layer["size"]!.GetValue<long>());
    }

    private static async Task<ContainerImage> LoadOrBuildAsync()
    {
        var binary = RepoPaths.AotMilterBinary();
        var artifacts = Path.Combine(RepoPaths.Root, "artifacts", "image");
        var own = Path.GetFullPath(binary) == Path.GetFullPath(Path.Combine(RepoPaths.Root, "artifacts", "aotmilter"));
        if (own && IsFresh(artifacts, binary))
        {
            return Read(artifacts);
        }

        // Build output stays as ./build.sh image left it: this image lives for the test run only.
        await StaleInstances.CleanUpOnceAsync();
        var temporary = new TempDirectory("image");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => temporary.Dispose();
        await BuildAsync(binary, temporary.Combine("layout"), revision: null);
        return Read(temporary.Combine("layout"));
    }

    private static bool IsFresh(string directory, string binary)
    {
        var index = Path.Combine(directory, "index.json");
        return File.Exists(index)
            && File.GetLastWriteTimeUtc(index) >= File.GetLastWriteTimeUtc(binary)
            && File.GetLastWriteTimeUtc(index) >= File.GetLastWriteTimeUtc(Script);
    }

    private static string Blob(string directory, string digest) =>
        Path.Combine(directory, "blobs", "sha256", digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..] : digest);

    private static JsonObject ReadJson(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();
}
