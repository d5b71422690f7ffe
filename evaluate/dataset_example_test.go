package evaluate_test

import (
	"fmt"
	"log"

	"nas/evaluate"
)

// Example opens the small synthetic dataset with a validation hold-out of 100
// images and reads a batch of two training images.
func Example() {
	d, err := evaluate.Open("synthetic", evaluate.Options{ValSize: 100, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	ntrain, _ := d.Len(evaluate.Train)
	nval, _ := d.Len(evaluate.Val)
	fmt.Printf("%s: %v images, %d classes, %d training, %d validation\n", d.Name(), d.Shape(), d.Classes(), ntrain, nval)

	x := make([]float32, 2*d.Shape().Size())
	labels := make([]int, 2)
	if err := d.Batch(evaluate.Train, []int{0, 1}, x, labels, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println("labels", labels, "values", len(x))

	ntest, err := d.Len(evaluate.Test) // the test set is made only now
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("test", ntest)
	// Output:
	// synthetic: 12x12x1 images, 4 classes, 900 training, 100 validation
	// labels [3 2] values 288
	// test 200
}
