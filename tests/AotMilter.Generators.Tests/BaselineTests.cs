using Microsoft.CodeAnalysis;

namespace AotMilter.Generators.Tests;

/// <summary>
/// The emitted source, compared with checked-in files under Baselines/. After an intended change to the output, run
/// the tests once with AOTMILTER_UPDATE_BASELINES=1 to rewrite them, and review the diff.
/// </summary>
public class BaselineTests
{
    private static readonly bool s_update = Environment.GetEnvironmentVariable("AOTMILTER_UPDATE_BASELINES") == "1";

    [Fact]
    public void TheDispatcherAndRegistrationOfAFilterUsingEveryCallbackMatchTheBaseline()
        => AssertBaseline(TestCompiler.Run(TestCompiler.CreateCompilation(Samples.EveryCallback)), "Samples.EveryCallbackFilter.Milter.g.cs");

    [Fact]
    public void TheDispatcherAndRegistrationOfAConfigurableAsyncFilterReadingMacrosMatchTheBaseline()
        => AssertBaseline(TestCompiler.Run(TestCompiler.CreateCompilation(Samples.Modern)), "Samples.ModernFilter.Milter.g.cs");

    [Fact]
    public void TheDispatcherAndRegistrationOfAFilterTakingATokenInEveryCallbackMatchTheBaseline()
        => AssertBaseline(TestCompiler.Run(TestCompiler.CreateCompilation(Samples.Aborting)), "Samples.AbortingFilter.Milter.g.cs");

    [Fact]
    public void TheDispatcherAndRegistrationOfTheLogFilterMatchTheBaseline()
        => AssertBaseline(
            TestCompiler.Run(TestCompiler.CreateCompilation(Samples.Bundled)),
            "AotMilter.Filters.LogFilter.Milter.g.cs");

    [Fact]
    public void TheDispatcherAndRegistrationOfTheBenchFilterMatchTheBaseline()
        => AssertBaseline(
            TestCompiler.Run(TestCompiler.CreateCompilation(Samples.Bundled)),
            "AotMilter.Filters.BenchFilter.Milter.g.cs");

    [Fact]
    public void TheCatalogMatchesTheBaseline()
        => AssertBaseline(TestCompiler.Run(TestCompiler.CreateCompilation(SampleSet.All["everything"])), "MilterCatalog.g.cs");

    [Fact]
    public void TheLinkedFiltersOfAnExecutableMatchTheBaseline()
    {
        MetadataReference library = LinkingTests.CompileLibrary("Bundled.Filters", Samples.Bundled).Reference;
        Compilation app = TestCompiler.CreateCompilation([Samples.Program, Samples.EveryCallback], OutputKind.ConsoleApplication, "App", [library]);

        AssertBaseline(TestCompiler.Run(app), "LinkedFilters.g.cs");
    }

    private static void AssertBaseline(GeneratorRun run, string hintName)
    {
        Assert.Empty(run.AllProblems);
        string actual = run.Source(hintName);
        string path = Path.Combine(Samples.RepositoryRoot, "tests", "AotMilter.Generators.Tests", "Baselines", hintName);
        if (s_update)
        {
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"no baseline {path}: run the tests with AOTMILTER_UPDATE_BASELINES=1 to create it");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual.ReplaceLineEndings("\n"));
    }
}
