using Microsoft.CodeAnalysis;

namespace AotMilter.Generators.Tests;

/// <summary>Executables get AotMilter.Generated.LinkedFilters: their own filters plus every referenced catalog.</summary>
public class LinkingTests
{
    [Fact]
    public void AnExecutableLinksTheFiltersOfAReferencedAssemblyAndItsOwnSortedByName()
    {
        (MetadataReference reference, byte[] library) = CompileLibrary("Bundled.Filters", Samples.Bundled);
        Compilation app = TestCompiler.CreateCompilation([Samples.Program, Samples.EveryCallback], OutputKind.ConsoleApplication, "App", [reference]);

        GeneratorRun run = TestCompiler.Run(app);
        Assert.Empty(run.AllProblems);
        string linked = run.Source("LinkedFilters.g.cs");
        Assert.Contains(".. global::AotMilter.Generated.App.MilterCatalog.Registrations,", linked, StringComparison.Ordinal);
        Assert.Contains(".. global::AotMilter.Generated.Bundled_Filters.MilterCatalog.Registrations,", linked, StringComparison.Ordinal);

        using Loaded loaded = Loaded.From(("App", TestCompiler.Emit(app)), ("Bundled.Filters", library));
        MilterRegistration[] all = loaded.Linked("App");
        Assert.Equal(["bench", "every", "log"], all.Select(r => r.Name));
        Assert.Equal(
            ["AotMilter.Filters.BenchFilter", "Samples.EveryCallbackFilter", "AotMilter.Filters.LogFilter"],
            all.Select(r => r.TypeName));
    }

    [Fact]
    public void AnExecutableWithoutFiltersGetsAnEmptyList()
    {
        Compilation app = TestCompiler.CreateCompilation([Samples.Program], OutputKind.ConsoleApplication, "Empty");

        GeneratorRun run = TestCompiler.Run(app);

        Assert.Empty(run.AllProblems);
        Assert.Equal(["LinkedFilters.g.cs"], run.HintNames);
        Assert.Contains("All { get; } = [];", run.Source("LinkedFilters.g.cs"), StringComparison.Ordinal);
        using Loaded loaded = Loaded.From(("Empty", TestCompiler.Emit(app)));
        Assert.Empty(loaded.Linked("Empty"));
    }

    [Fact]
    public void ALibraryGetsNoLinkedList()
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation(Samples.EveryCallback));

        Assert.DoesNotContain("LinkedFilters.g.cs", run.HintNames);
    }

    [Fact]
    public void AOTM002IsReportedWhenAnExecutableAndAReferencedAssemblyUseOneName()
    {
        MetadataReference reference = CompileLibrary("Lib", Samples.EveryCallback).Reference;
        string clash = """
            using AotMilter;

            namespace App;

            [Milter("every")]
            public sealed class Clash
            {
            }
            """;

        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation([Samples.Program, clash], OutputKind.ConsoleApplication, "App", [reference]));

        Diagnostic d = Assert.Single(run.AllProblems);
        Assert.Equal("AOTM002", d.Id);
        Assert.Equal("Filter name 'every' is used by both 'App.Clash' and assembly 'Lib'", d.GetMessage());
        Assert.True(d.Location.IsInSource || d.Location.Kind == LocationKind.ExternalFile);
    }

    [Fact]
    public void AOTM002IsReportedWhenTwoReferencedAssembliesUseOneName()
    {
        MetadataReference first = CompileLibrary("LibA", Samples.EndOfMessageOnly).Reference;
        MetadataReference second = CompileLibrary("LibB", Samples.EndOfMessageOnly).Reference;

        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation([Samples.Program], OutputKind.ConsoleApplication, "App", [first, second]));

        Diagnostic d = Assert.Single(run.AllProblems);
        Assert.Equal("AOTM002", d.Id);
        Assert.Equal("Filter name 'eom-only' is used by both assembly 'LibA' and assembly 'LibB'", d.GetMessage());
    }

    /// <summary>Compiles a filter library in memory (with the generator) into an image and a reference to it.</summary>
    internal static (MetadataReference Reference, byte[] Image) CompileLibrary(string assemblyName, params string[] sources)
    {
        byte[] image = TestCompiler.Emit(TestCompiler.CreateCompilation(sources, assemblyName: assemblyName));
        return (MetadataReference.CreateFromImage(image), image);
    }
}
