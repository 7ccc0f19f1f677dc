using Microsoft.CodeAnalysis;

namespace AotMilter.Generators.Tests;

public class GeneratedCodeTests
{
    public static TheoryData<string> SampleSets => [.. SampleSet.All.Keys];

    [Theory]
    [MemberData(nameof(SampleSets))]
    public void TheGeneratedCodeCompilesWithNoErrorsOrWarnings(string sampleSet)
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation(SampleSet.All[sampleSet]));

        Assert.Null(run.Result.Results[0].Exception);
        Assert.Empty(run.AllProblems);
        Assert.Contains("MilterCatalog.g.cs", run.HintNames);
    }

    [Fact]
    public void EachFilterGetsItsOwnFileAndTheAssemblyOneCatalog()
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation(SampleSet.All["everything"]));

        Assert.Equal(
            [
                "MilterCatalog.g.cs",
                "Samples.AbortingFilter.Milter.g.cs",
                "Samples.Deeper.Outer.HelperEditsFilter.Milter.g.cs",
                "Samples.EndOfMessageOnlyFilter.Milter.g.cs",
                "Samples.EveryCallbackFilter.Milter.g.cs",
                "Samples.LimitFilter.Milter.g.cs",
                "Samples.ModernFilter.Milter.g.cs",
                "Samples.OddShapesFilter.Milter.g.cs",
            ],
            run.HintNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheCatalogListsFiltersSortedByNameWhateverTheSourceOrder()
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation(Samples.OddShapes, Samples.EveryCallback, Samples.EndOfMessageOnly));

        string catalog = run.Source("MilterCatalog.g.cs");
        Assert.Contains("public const string FilterNames = \"eom-only every odd_shapes-2\";", catalog, StringComparison.Ordinal);
        int eom = catalog.IndexOf("Create_Samples_EndOfMessageOnlyFilter()", StringComparison.Ordinal);
        int every = catalog.IndexOf("Create_Samples_EveryCallbackFilter()", StringComparison.Ordinal);
        int odd = catalog.IndexOf("Create_Samples_OddShapesFilter()", StringComparison.Ordinal);
        Assert.True(eom < every && every < odd, catalog);
    }

    [Fact]
    public void AFilterThatImplementsIResettableFilterLetsItsDispatcherResetItAndOthersDoNot()
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation("""
            using AotMilter;

            namespace Samples;

            [Milter("reusable")]
            public sealed class ReusableFilter : IResettableFilter
            {
                private int _seen;

                [OnHeader]
                public void Header() => _seen++;

                bool IResettableFilter.TryReset()
                {
                    _seen = 0;
                    return true;
                }
            }

            [Milter("fresh")]
            public sealed class FreshFilter
            {
                [OnData]
                public void Data() { }
            }
            """));

        Assert.Empty(run.AllProblems);
        Assert.Contains("public override bool TryReset() => ((global::AotMilter.IResettableFilter)_filter).TryReset();",
            run.Source("Samples.ReusableFilter.Milter.g.cs"), StringComparison.Ordinal);
        Assert.DoesNotContain("TryReset", run.Source("Samples.FreshFilter.Milter.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void FiltersWhoseNamesNeedEscapingGetDistinctFilesAndCompile()
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation("""
            using AotMilter;

            [Milter("global")]
            public sealed class GlobalFilter
            {
                [OnData]
                public void Data() { }
            }

            namespace Ünicode
            {
                [Milter("one")]
                public sealed class Fïlter
                {
                    [OnData]
                    public void Data() { }
                }

                [Milter("two")]
                public sealed class Fîlter
                {
                    [OnData]
                    public void Data() { }
                }

                [Milter("three")]
                public sealed class @event
                {
                    [OnData]
                    public void @class() { }
                }
            }
            """));

        Assert.Null(run.Result.Results[0].Exception);
        Assert.Empty(run.AllProblems);
        Assert.Equal(5, run.HintNames.Distinct().Count());
        Assert.Contains("GlobalFilter.Milter.g.cs", run.HintNames);
        Assert.Contains("_filter.@class()", string.Concat(run.HintNames.Select(run.Source)), StringComparison.Ordinal);
    }

    [Fact]
    public void AClassLibraryWithoutFiltersGetsNoGeneratedFiles()
    {
        GeneratorRun run = TestCompiler.Run(TestCompiler.CreateCompilation("namespace Plain; public class NotAFilter { }"));

        Assert.Empty(run.HintNames);
        Assert.Empty(run.AllProblems);
    }

    [Fact]
    public void ACompilationWithoutAotMilterGetsNothingEvenAsAnExecutable()
    {
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create(
            "Bare",
            [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("public static class P { public static void Main() { } }", TestCompiler.ParseOptions)],
            TestCompiler.References.Where(r => !(r.Display ?? "").Contains("AotMilter", StringComparison.Ordinal)),
            new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.ConsoleApplication));

        GeneratorRun run = TestCompiler.Run(compilation);

        Assert.Empty(run.HintNames);
        Assert.Empty(run.AllProblems);
    }
}

/// <summary>Named sets of sources that are compiled together.</summary>
internal static class SampleSet
{
    public static readonly IReadOnlyDictionary<string, string[]> All = new Dictionary<string, string[]>
    {
        ["every-callback"] = [Samples.EveryCallback],
        ["end-of-message-only"] = [Samples.EndOfMessageOnly],
        ["helper-edits"] = [Samples.HelperEdits],
        ["odd-shapes"] = [Samples.OddShapes],
        ["modern"] = [Samples.Modern],
        ["aborting"] = [Samples.Aborting],
        ["implicit-settings"] = [Samples.ImplicitSettings],
        ["bundled"] = Samples.Bundled,
        ["everything"] = [Samples.EveryCallback, Samples.EndOfMessageOnly, Samples.HelperEdits, Samples.OddShapes, Samples.Modern, Samples.ImplicitSettings, Samples.Aborting],
    };
}
