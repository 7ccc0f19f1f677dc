extern alias Generator;

using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using AotMilter.Protocol;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.Extensions.Logging;
using Generator::AotMilter.Generators;

namespace AotMilter.Generators.Tests;

/// <summary>
/// Compiles sample sources in memory and runs the generator over them with the plain driver. References are the
/// running runtime's own assemblies plus AotMilter.Abstractions, AotMilter.Protocol and the logging abstractions.
/// </summary>
internal static class TestCompiler
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(LoadReferences);

    public static ImmutableArray<MetadataReference> References => s_references.Value;

    public static CSharpCompilation CreateCompilation(
        IEnumerable<string> sources,
        OutputKind kind = OutputKind.DynamicallyLinkedLibrary,
        string assemblyName = "Samples",
        IEnumerable<MetadataReference>? extraReferences = null)
    {
        IEnumerable<SyntaxTree> trees = sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Source{i}.cs"));
        var options = new CSharpCompilationOptions(kind)
            .WithNullableContextOptions(NullableContextOptions.Enable)
            .WithOptimizationLevel(OptimizationLevel.Release)
            .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
            {
                // As the SDK does: assembly version unification notices are not problems.
                ["CS1701"] = ReportDiagnostic.Suppress,
                ["CS1702"] = ReportDiagnostic.Suppress,
            });
        return CSharpCompilation.Create(assemblyName, trees, References.Concat(extraReferences ?? []), options);
    }

    public static CSharpCompilation CreateCompilation(params string[] sources) => CreateCompilation((IEnumerable<string>)sources);

    /// <summary>Every analyzer the generator's assembly ships: the checks that read method bodies run there, as in a build.</summary>
    private static readonly ImmutableArray<DiagnosticAnalyzer> s_analyzers =
    [
        .. typeof(MilterGenerator).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!),
    ];

    /// <summary>Runs the generator once, with step tracking on, then the analyzers over the result.</summary>
    public static GeneratorRun Run(Compilation compilation)
    {
        GeneratorDriver driver = CreateDriver();
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> _);
        return new GeneratorRun(driver, driver.GetRunResult(), output, Analyze(output));
    }

    /// <summary>The analyzers' diagnostics; an analyzer that throws fails the test instead of becoming an AD0001 warning.</summary>
    private static ImmutableArray<Diagnostic> Analyze(Compilation compilation)
    {
        var failures = new List<Exception>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions([]),
            onAnalyzerException: (exception, _, _) => { lock (failures) { failures.Add(exception); } },
            concurrentAnalysis: true,
            logAnalyzerExecutionTime: false);
        ImmutableArray<Diagnostic> diagnostics = compilation.WithAnalyzers(s_analyzers, options).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        Assert.Empty(failures);
        return diagnostics;
    }

    public static GeneratorDriver CreateDriver()
        => CSharpGeneratorDriver.Create(
            [new MilterGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator and returns the compiled output as an image (asserting it compiles).</summary>
    public static byte[] Emit(Compilation compilation)
    {
        GeneratorRun run = Run(compilation);
        Assert.Null(run.Result.Results[0].Exception);
        using var stream = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult result = run.Output.Emit(stream);
        Assert.True(result.Success, string.Join(Environment.NewLine, result.Diagnostics));
        return stream.ToArray();
    }

    /// <summary>Loads in-memory assemblies into a collectible context; AotMilter.Abstractions comes from the test's own.</summary>
    public static InMemoryLoadContext Load(params (string Name, byte[] Image)[] assemblies) => new(assemblies);

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        string runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        IEnumerable<string> runtime = trusted
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(path => string.Equals(Path.GetDirectoryName(path), runtimeDirectory, StringComparison.Ordinal))
            .Where(path => path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase));
        string[] ours =
        [
            typeof(MilterAttribute).Assembly.Location,
            typeof(ProtocolFlags).Assembly.Location,
            typeof(ILogger).Assembly.Location,
        ];
        return [.. runtime.Concat(ours).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(path => MetadataReference.CreateFromFile(path))];
    }
}

/// <summary>One generator run: the driver (to run again), its result, the compilation with the generated files, and what the analyzers found in it.</summary>
internal sealed record GeneratorRun(GeneratorDriver Driver, GeneratorDriverRunResult Result, Compilation Output, ImmutableArray<Diagnostic> AnalyzerDiagnostics)
{
    /// <summary>The diagnostics the generator's assembly reported: the generator's own and its analyzers'.</summary>
    public ImmutableArray<Diagnostic> GeneratorDiagnostics => Result.Diagnostics.AddRange(AnalyzerDiagnostics);

    /// <summary>Errors and warnings of the compilation including the generated files (excluding the generator's own).</summary>
    public ImmutableArray<Diagnostic> CompilationProblems
        => [.. Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning)];

    /// <summary>Every error and warning: the generator's and the compiler's.</summary>
    public IEnumerable<Diagnostic> AllProblems
        => GeneratorDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Concat(CompilationProblems);

    public string Source(string hintName)
    {
        GeneratedSourceResult? found = Result.Results[0].GeneratedSources.FirstOrDefault(s => s.HintName == hintName);
        Assert.True(found?.HintName == hintName, $"no generated file {hintName}; generated: {string.Join(", ", HintNames)}");
        return found!.Value.SourceText.ToString();
    }

    public IEnumerable<string> HintNames => Result.Results[0].GeneratedSources.Select(s => s.HintName);
}

/// <summary>A collectible load context over in-memory images; everything else resolves from the default context.</summary>
internal sealed class InMemoryLoadContext : AssemblyLoadContext, IDisposable
{
    private readonly Dictionary<string, byte[]> _images;
    private readonly Dictionary<string, Assembly> _loaded = new(StringComparer.Ordinal);

    public InMemoryLoadContext((string Name, byte[] Image)[] assemblies)
        : base(isCollectible: true)
        => _images = assemblies.ToDictionary(a => a.Name, a => a.Image, StringComparer.Ordinal);

    public Assembly Get(string name) => Load(new AssemblyName(name)) ?? throw new InvalidOperationException($"no image for {name}");

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        string name = assemblyName.Name ?? "";
        if (_loaded.TryGetValue(name, out Assembly? assembly))
        {
            return assembly;
        }

        if (!_images.TryGetValue(name, out byte[]? image))
        {
            return null;
        }

        assembly = LoadFromStream(new MemoryStream(image));
        _loaded[name] = assembly;
        return assembly;
    }

    public void Dispose() => Unload();
}
